"""Page sessions held by the server: one record per browser session, ended for real on sign-out."""
