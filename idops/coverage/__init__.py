"""Single-login coverage ("yhden tunnuksen kattavuus"): accounts per staff person and apps per login."""
