"""Page texts in Finnish (default) and English: the one catalogue every page string comes from, and the
words for the codes the services speak (audit actions, actors, jobs, MFA methods, sign-on modes) — so no
code name, enum value or Graph error reaches a page.

Formats (dates, numbers, percentages) are ``idops.kit.i18n``'s. Words follow ``GLOSSARY.md``.
"""

from __future__ import annotations

Lang = str  # "fi" | "en"

FI: dict[str, str] = {
    "app_name": "idops",
    "skip": "Siirry sisältöön",
    "nav_label": "Päävalikko",
    "crumbs_label": "Olet tässä",
    "nav_substitutes": "Sijaistunnukset",
    "nav_mfa": "MFA-tilanne",
    "nav_coverage": "Yhden tunnuksen kattavuus",
    "nav_admin_substitutes": "Kunnan sijaistunnukset",
    "nav_region_substitutes": "Seudun sijaistunnukset",
    "nav_jobs": "Ajastetut ajot",
    "nav_approvals": "Hyväksynnät",
    "bulk_title": "Useita sijaisia kerralla",
    "bulk_help": "Liitä rivit taulukosta (enintään {n}): nimi; alku; loppu, esimerkiksi "
    "\"Aino Äijälä; 1.12.2026 8.00; 5.12.2026 16.00\". Kellonajat voi jättää pois (8.00 ja 16.00). "
    "Sarakkeet voi erottaa puolipisteellä tai sarkaimella.",
    "bulk_rows": "Rivit",
    "bulk_grid_title": "Sijaiset",
    "bulk_grid_help": "Kirjoita riveille nimi, alku ja loppu (enintään {n} riviä), esimerkiksi Aino Äijälä, "
    "1.12.2026 8.00 ja 5.12.2026 16.00; kellonajat voi jättää pois (8.00 ja 16.00). Taulukosta kopioidut rivit "
    "voi liittää ensimmäiseen nimikenttään.",
    "bulk_add_row": "Lisää rivi",
    "code_mail": "Lähetä koodi sijaisen sähköpostiin",
    "code_mailed": "Kirjautumiskoodi ja ohjeet lähetettiin osoitteeseen {to}. Koodia ei näytetä täällä.",
    "bulk_paste_title": "Liitä rivit tekstinä",
    "bulk_submit": "Pyydä tunnukset",
    "bulk_rows_count": "Liitä 1–{n} riviä.",
    "bulk_results": "Tulokset riveittäin",
    "bulk_line": "Rivi",
    "bulk_outcome": "Tulos",
    "bulk_unreadable_name": "Nimeä ei voitu lukea: kirjoita etu- ja sukunimi.",
    "bulk_unreadable_start": "Alkua ei voitu lukea: kirjoita päivä muodossa 1.12.2026.",
    "bulk_unreadable_end": "Loppua ei voitu lukea: kirjoita päivä muodossa 5.12.2026.",
    "bulk_graph_down": "Microsoftin palvelu ei vastannut; yritä tätä riviä myöhemmin uudelleen.",
    "approvals_title": "Hyväksyntää odottavat pyynnöt",
    "approvals_help": "Nämä sijaistunnuspyynnöt ylittävät kunnan rajan. Hyväksytty pyyntö käsitellään kuten "
    "muutkin; hylkäyksen syy näytetään pyytäjälle.",
    "approvals_none": "Hyväksyntää odottavia pyyntöjä ei ole.",
    "approval_limits": "Ylitetty raja",
    "approval_decision": "Päätös",
    "approve": "Hyväksy",
    "deny": "Hylkää",
    "deny_reason": "Hylkäyksen syy",
    "approval_reason_missing": "Kirjoita hylkäyksen syy (vähintään 3 merkkiä).",
    "approved_ok": "Pyyntö hyväksytty; tunnus luodaan.",
    "denied_ok": "Pyyntö hylätty; pyytäjä näkee syyn.",
    "over_quota": "koulun sijaistunnusten enimmäismäärä",
    "over_seats": "lisenssit loppuneet",
    "over_max_lead_days": "pyydetty liian aikaisin",
    "over_max_duration_days": "jakso liian pitkä",
    "requested_awaiting": "Pyyntö ylittää kunnan rajan ja odottaa tietohallinnon hyväksyntää. Saat tiedon tällä "
    "sivulla, kun pyyntö on käsitelty.",
    "problem_awaiting": "Pyyntö odottaa kunnan tietohallinnon hyväksyntää.",
    "problem_denied": "Kunnan tietohallinto hylkäsi pyynnön: {reason}",
    "nav_region": "Kuntavertailu",
    "nav_demo_clock": "Demokello",
    "lang_switch": "In English",
    "lang_switch_lang": "en",
    "signed_in_as": "Kirjautunut",
    "sign_out": "Kirjaudu ulos",
    "sign_in": "Kirjaudu sisään",
    "sign_in_title": "Kirjaudu sisään",
    "sign_in_entra": "Kirjaudu Microsoft-tunnuksella",
    "sign_in_intro": "Kirjaudu koulusi tai kuntasi Microsoft-tunnuksella (Entra ID).",
    "sign_in_not_configured": "Kirjautuminen ei ole vielä käytössä. Ota yhteyttä palvelun ylläpitoon.",
    "sign_in_failed": "Kirjautuminen epäonnistui. Yritä uudelleen.",
    "signed_out": "Olet kirjautunut ulos.",
    "signed_out_everywhere": "Olet kirjautunut ulos kaikilta laitteilta.",
    "sign_out_everywhere": "Kirjaudu ulos kaikilta laitteilta",
    "demo_sign_in_title": "Kirjaudu demokäyttäjänä",
    "demo_sign_in_intro": "Demotilassa voit kirjautua kenä tahansa alla olevista. "
    "Tuotannossa kirjautuminen tapahtuu Entra ID:llä.",
    "demo_principals": "Rehtorit",
    "demo_admins": "Pääkäyttäjät",
    "demo_it_admin": "Tietohallinnon pääkäyttäjä",
    "demo_region_admin": "Seudun pääkäyttäjä",
    "demo_sign_in_as": "Kirjaudu",
    "demo_mode": "demotila",
    "no_access": "Tunnuksellasi ei ole oikeuksia yhteenkään kouluun tai kuntaan.",
    "role_Principal": "Rehtori",
    "role_ItAdmin": "Tietohallinnon pääkäyttäjä",
    "role_RegionAdmin": "Seudun pääkäyttäjä",
    "optional": "valinnainen",
    "no_data_yet": "Ei vielä tietoa.",
    # footer
    "contact_title": "Tuki ja yhteystiedot",
    "contact_url": "Tukisivu",
    "footer_about": "Tietoa palvelusta",
    # errors
    "error_title_prefix": "Virhe:",
    "error_prefix": "Virhe:",
    "error_404_title": "Sivua ei löytynyt",
    "error_404": "Sivua ei löytynyt. Tarkista osoite tai palaa etusivulle.",
    "error_403_title": "Ei käyttöoikeutta",
    "error_401_title": "Kirjautuminen vaaditaan",
    "error_401": "Kirjaudu sisään nähdäksesi sivun.",
    "error_400_title": "Virheellinen pyyntö",
    "error_409_title": "Toimintoa ei voitu tehdä",
    "error_422_title": "Tarkista tiedot",
    "error_429_title": "Liian monta pyyntöä",
    "error_500_title": "Jotain meni vikaan",
    "error_500": "Palvelussa tapahtui virhe. Yritä hetken kuluttua uudelleen. Jos virhe toistuu, ota yhteyttä "
    "tukeen ja kerro alla oleva virhetunniste.",
    "error_502_title": "Microsoftin palvelu kieltäytyi",
    "error_503_title": "Microsoftin palvelu ei vastaa",
    "error_csrf": "Lomakkeen turvatarkiste puuttui tai on vanhentunut. Lataa sivu uudelleen ja yritä uudelleen.",
    "error_request_id": "Virhetunniste tukea varten:",
    "error_back": "Etusivulle",
    "check_fields": "Tarkista tiedot ({n})",
    # principal: list
    "my_schools": "Koulusi",
    "substitutes_of": "Sijaistunnukset",
    "request_new": "Pyydä sijaistunnus",
    "upcoming": "Tulossa",
    "active": "Voimassa",
    "ended": "Päättyneet",
    "none_upcoming": "Ei tulossa olevia sijaistunnuksia.",
    "none_active": "Ei voimassa olevia sijaistunnuksia.",
    "none_ended": "Ei päättyneitä sijaistunnuksia.",
    "name": "Nimi",
    "account": "Tunnus",
    "starts": "Alkaa",
    "ends": "Päättyy",
    "cancelled_before_start": "Peruttu ennen alkua {at}",
    "would_have_started": "olisi alkanut {at}",
    "status": "Tila",
    "school": "Koulu",
    "municipality": "Kunta",
    "open": "Avaa",
    # statuses
    "status_requested": "pyydetty",
    "status_provisioning": "luodaan",
    "status_scheduled": "tulossa",
    "status_active": "voimassa",
    "status_expired": "päättynyt",
    "status_revoked": "päätetty etuajassa",
    "status_deleted": "poistettu",
    "status_failed": "epäonnistui",
    "status_missing": "puuttuu Entra ID:stä",
    "status_awaiting_approval": "odottaa hyväksyntää",
    "status_denied": "hylätty",
    # request form
    "request_title": "Pyydä sijaistunnus",
    "returning_title": "Onko henkilö ollut aiemmin sijaisena kunnassa?",
    "returning_help": "Hae aiempia sijaisia nimellä tai sähköpostilla. Palaava sijainen saa saman tunnuksen takaisin.",
    "search": "Hae",
    "search_label": "Nimi tai sähköposti",
    "search_none": "Haulla ”{q}” ei löytynyt aiempia sijaisia.",
    "search_short": "Kirjoita vähintään kaksi merkkiä.",
    "choose": "Valitse",
    "chosen_person": "Palaava sijainen",
    "new_person": "Uusi henkilö",
    "change_person": "Vaihda henkilö",
    "last_at": "viimeksi",
    "person_title": "Sijainen",
    "given_name": "Etunimi",
    "surname": "Sukunimi",
    "email": "Sähköposti",
    "email_help": "Sijaiselle ja ilmoituksia varten; ei näy tunnuksessa.",
    "mobile_phone": "Matkapuhelin",
    "phone_help": "Esimerkiksi +358 40 123 4567",
    "period_title": "Sijaisuusjakso",
    "start_date": "Alkamispäivä",
    "start_time": "Alkamisaika",
    "end_date": "Päättymispäivä",
    "end_time": "Päättymisaika",
    "date_help": "Esimerkiksi 30.11.2026",
    "time_help": "Esimerkiksi 8.15",
    "limits_title": "Rajat",
    "limit_duration": "Sijaisuusjakso voi olla enintään {n} päivää.",
    "limit_lead": "Tunnusta voi pyytää enintään {n} päivää etukäteen (alku viimeistään {latest}).",
    "limit_quota": "Koululla voi olla samaan aikaan enintään {n} sijaistunnusta.",
    "limit_tap_hours": "Kirjautumiskoodin voi antaa vain arkisin klo {a}–{b}.",
    "limit_past": "Jo alkanut jakso alkaa heti, kun tunnus on valmis.",
    "submit_request": "Pyydä sijaistunnus",
    "cancel": "Peruuta",
    "err_given_name": "Anna etunimi.",
    "err_surname": "Anna sukunimi.",
    "err_name_chars": "Nimessä on merkkejä, joita ei voi käyttää.",
    "err_email": "Sähköpostiosoite ei kelpaa. Anna muodossa nimi@esimerkki.fi.",
    "err_phone": "Puhelinnumero ei kelpaa. Anna muodossa +358 40 123 4567.",
    "err_date": "Anna päivämäärä muodossa pp.kk.vvvv, esimerkiksi 27.11.2026.",
    "err_time": "Anna kellonaika muodossa 8.15.",
    "requested_ok": "Sijaistunnus luotu: {name}. Voimassa {start} – {end}.",
    # detail
    "substitute_title": "Sijaistunnus",
    "upn": "Käyttäjätunnus",
    "created": "Pyydetty",
    "extend_title": "Jatka voimassaoloa",
    "extend_help": "Uusi päättymisaika. Jakso voi olla enintään {n} päivää alusta lukien (viimeistään {latest}).",
    "new_end_date": "Uusi päättymispäivä",
    "new_end_time": "Uusi päättymisaika",
    "extend_submit": "Jatka voimassaoloa",
    "extended_ok": "Voimassaoloa jatkettu: päättyy {end}.",
    "end_section": "Päätä sijaistunnus",
    "end_section_help": "Tunnus poistetaan käytöstä heti. Ennen sitä kysytään vielä vahvistus.",
    "end_now": "Päätä nyt",
    "end_title": "Päätä sijaistunnus nyt",
    "end_confirm_text": "Tunnus {upn} poistetaan käytöstä heti, ja sijaisen kirjautumiset katkaistaan. "
    "Tätä ei voi perua.",
    "end_confirm": "Kyllä, päätä tunnus nyt",
    "ended_ok": "Sijaistunnus päätetty.",
    "problem_no_seats": "Tunnusta ei voitu luoda, koska koulun lisenssit ovat loppuneet. Ota yhteyttä kunnan "
    "tietohallintoon.",
    "problem_failed": "Tunnuksen luonti epäonnistui. Ota yhteyttä kunnan tietohallintoon ja kerro virhetunniste.",
    "problem_retrying": "Tunnuksen käsittely on kesken, koska Microsoftin palvelu ei vastannut. idops yrittää "
    "uudelleen automaattisesti; sinun ei tarvitse tehdä mitään.",
    "problem_missing": "Tunnus on poistettu Entra ID:stä idopsin ulkopuolella. Ota yhteyttä kunnan tietohallintoon.",
    "code_title": "Kirjautumiskoodi",
    "code_title_once": "Kertakäyttöinen kirjautumiskoodi",
    "code_give": "Anna kirjautumiskoodi",
    "code_help": "Anna koodi sijaiselle, kun hän on paikalla. Koodi näytetään vain kerran.",
    "code_only_active": "Kirjautumiskoodin voi antaa voimassa olevalle tai alkavalle tunnukselle.",
    "code_help_ahead": "Voit valmistella koodin jo ennen sijaisuuden alkua: se toimii vasta, kun sijaisuus "
    "alkaa {start}. Uusi koodi korvaa aiemman.",
    "code_ahead": "Koodi toimii vasta, kun sijaisuus alkaa.",
    "code_shown_once": "Koodi näytetään vain tämän kerran. Se ei näy uudelleen, jos lataat sivun.",
    "code_read_hint": "Koodi on ryhmitelty neljän merkin ryhmiin lukemisen helpottamiseksi; välilyöntejä ei "
    "kirjoiteta. Isot ja pienet kirjaimet ovat eri merkkejä.",
    "code_valid": "Voimassa",
    "code_usable_once": "Koodilla voi kirjautua vain kerran.",
    "code_usable_many": "Koodilla voi kirjautua useita kertoja voimassaoloaikana.",
    "code_otp": "Kertakäyttöinen salasana (vaihdettava ensimmäisellä kirjautumisella)",
    "handover_title": "Näin sijainen kirjautuu",
    "handover_1": "Avaa osoite",
    "handover_2": "Kirjoita käyttäjätunnus {upn}.",
    "handover_3": "Kirjoita kirjautumiskoodi, kun sitä kysytään.",
    "handover_3_otp": "Kirjoita kertakäyttöinen salasana ja vaihda se omaan salasanaan.",
    "handover_4": "Ota käyttöön monivaiheinen tunnistautuminen (MFA) ohjeiden mukaan, esimerkiksi "
    "Microsoft Authenticator -sovellus.",
    "code_copy": "Kopioi koodi",
    "code_copied": "Koodi kopioitu.",
    "code_already_shown": "Kirjautumiskoodi on jo näytetty. Jos se katosi, anna uusi koodi.",
    "back_to_substitute": "Takaisin sijaistunnukseen",
    "back_to_list": "Takaisin luetteloon",
    "events_title": "Tapahtumaloki",
    "event_at": "Aika",
    "event_actor": "Tekijä",
    "event_action": "Tapahtuma",
    # audit events of a substitute period
    "event_requested": "Tunnus pyydetty",
    "event_account_created": "Tunnus luotu Entra ID:hen",
    "event_page_sessions_ended": "Kirjautumiset päätetty kaikilla laitteilla",
    "event_staff_access_pass_issued": "Kirjautumiskoodi annettu henkilökunnalle",
    "event_account_restored": "Aiempi tunnus palautettu",
    "event_account_reused": "Aiempi tunnus otettu uudelleen käyttöön",
    "event_provisioned": "Käyttöoikeudet annettu",
    "event_provisioning_retry": "Luonti keskeytyi, yritetään uudelleen",
    "event_failed": "Tunnuksen luonti epäonnistui",
    "event_approval_requested": "Pyyntö ylittää rajan: odottaa tietohallinnon hyväksyntää",
    "event_approved": "Tietohallinto hyväksyi pyynnön",
    "event_denied": "Tietohallinto hylkäsi pyynnön",
    "event_activated": "Tunnus otettu käyttöön",
    "event_ends_at_changed": "Päättymisaikaa muutettu",
    "event_revoke_requested": "Päättäminen pyydetty",
    "event_expired": "Tunnus päättyi",
    "event_revoked": "Tunnus päätetty etuajassa",
    "event_missing": "Tunnus puuttui Entra ID:stä",
    "event_deleted": "Tunnus poistettu",
    "event_expiry_notice": "Muistutus päättymisestä lähetetty",
    "event_approval_digest": "Hyväksyntäpyyntö lähetetty tietohallinnolle",
    "event_decision_notice": "Päätös ilmoitettu pyytäjälle",
    "event_temporary_access_pass_issued": "Kirjautumiskoodi annettu",
    "event_one_time_password_issued": "Kertakäyttöinen salasana annettu",
    "event_re_disabled": "Käsin käyttöön otettu tunnus suljettu uudelleen",
    "event_orphan_found": "Tuntematon idops-tunnus löytyi",
    "event_orphan_disabled": "Tuntematon idops-tunnus suljettu",
    "event_re_enabled": "Tunnus otettu uudelleen käyttöön (suljettu idopsin ulkopuolella)",
    "event_access_restored": "Pääsy palautettu: seuraava sijaisuus alkoi edellisen päättyessä",
    "event_group_added": "Puuttuva ryhmäjäsenyys lisätty",
    "event_group_removed": "Ylimääräinen ryhmäjäsenyys poistettu",
    "event_licence_added": "Puuttuva lisenssi lisätty",
    "event_licence_removed": "Ylimääräinen lisenssi poistettu",
    "event_new_person_forced": "Luotu uutena henkilönä samannimisestä sijaisesta huolimatta",
    # admin: drift
    "nav_drift": "Poikkeamat",
    "drift_title": "Poikkeamat Entra ID:ssä",
    "drift_intro": "Täsmäytysajo vertaa idopsin sijaistunnuksia Entra ID:hen ja korjaa erot: käytössäolon, "
    "idopsin ryhmät ja lisenssit. Tässä näkyvät korjaukset ja tunnukset, joita idops ei tunne.",
    "orphans_title": "Tuntemattomat idops-tunnukset",
    "orphans_help": "Entra ID:ssä on idopsin merkitsemä tunnus, jota idops ei tunne (esimerkiksi tietokanta "
    "palautettiin varmuuskopiosta). Asetuksen mukaan tunnus suljetaan ja sen ryhmät ja lisenssit poistetaan.",
    "no_orphans": "Ei tuntemattomia tunnuksia.",
    "corrections_title": "Korjaukset",
    "no_corrections": "Ei korjauksia.",
    "drift_account": "Tunnus",
    "drift_change": "Korjaus",
    "drift_concerns": "Koskee",
    "drift_group_of": "{school_gen} sijaisryhmä",
    "drift_licence_of": "{school_gen} sijaisten lisenssi",
    "drift_group_many": "sijaisryhmä ({n} koulua)",
    "drift_licence_many": "sijaisten lisenssi ({n} koulua)",
    "orphan_first_seen": "Löytyi",
    "orphan_disabled_at": "Suljettu",
    "unknown_municipality": "ei tiedossa",
    # seats
    "seats_free": "Vapaita lisenssejä: {n}",
    "seats_none": "Koulun lisenssit ovat loppuneet: uusia sijaistunnuksia ei voi luoda ennen kuin lisenssejä "
    "vapautuu. Ota yhteyttä kunnan tietohallintoon.",
    "seats_active": "Sijainen saa lisenssin sijaisuuden alkaessa, ja se vapautuu sijaisuuden päättyessä.",
    "seats_requested": "Lisenssi varataan sijaiselle pyynnön hetkellä ja vapautuu sijaisuuden päättyessä.",
    "seats_unknown": "Vapaiden lisenssien määrää ei saatu juuri nyt.",
    # returning person: "is this the same person?"
    "same_person_title": "Onko tämä sama henkilö?",
    "same_person_help": "Kunnassa on ollut samanniminen sijainen. Jos kyseessä on sama henkilö, hän saa saman "
    "tunnuksen takaisin. Valitse hänet tai kerro, että kyseessä on uusi henkilö.",
    "same_person_yes": "Kyllä, sama henkilö",
    "same_person_no": "Ei, uusi henkilö",
    "last_school_at": "Viimeksi: {school}, päättyi {end}",
    "event_scrubbed": "Henkilötiedot poistettu säilytysajan jälkeen",
    "event_exported": "Henkilön tiedot ladattu (tarkastusoikeus)",
    "event_erased": "Henkilötiedot poistettu pyynnöstä",
    "event_legal_hold_set": "Oikeudellinen säilytysvelvoite asetettu",
    "event_legal_hold_lifted": "Oikeudellinen säilytysvelvoite purettu",
    "person_link": "Henkilötiedot",
    "person_data_title": "Sijaisen henkilötiedot",
    "person_scrubbed_name": "(henkilötiedot poistettu)",
    "person_recorded": "Tallennettu",
    "person_account_deleted": "Tunnus poistettu Entra ID:stä",
    "person_retention_title": "Säilytysaika",
    "person_scrubbed_on": (
        "Henkilötiedot poistettiin {date}. Sijaisuuksien päivämäärät ja tapahtumat säilyvät nimettöminä."
    ),
    "person_retention_held": (
        "Oikeudellinen säilytysvelvoite on voimassa: tunnusta ja henkilötietoja ei poisteta ennen kuin se"
        " puretaan."
    ),
    "person_scrub_due": "Henkilötiedot poistetaan automaattisesti {date}.",
    "person_scrub_after": (
        "Henkilötiedot poistetaan automaattisesti {n} päivän kuluttua viimeisen sijaisuuden "
        "päättymisestä."
    ),
    "person_periods": "Sijaisuudet",
    "person_export_title": "Tietojen tarkastus",
    "person_export_help": (
        "Lataa kaikki idopsiin tallennetut tiedot henkilöstä tiedostona (JSON), esimerkiksi "
        "tarkastuspyyntöön vastaamiseksi. Lataus kirjataan tapahtumalokiin."
    ),
    "person_export": "Lataa tiedot",
    "person_hold_title": "Oikeudellinen säilytysvelvoite",
    "person_hold_help": (
        "Aseta säilytysvelvoite, jos tietoja tarvitaan selvitykseen tai riita-asiaan: tunnusta ja "
        "henkilötietoja ei silloin poisteta automaattisesti eikä pyynnöstä."
    ),
    "person_hold_on": "Säilytysvelvoite asetettu {date}, peruste: {reason}.",
    "person_hold_reason": "Peruste (esimerkiksi asian diaarinumero)",
    "person_hold_reason_error": "Anna peruste (enintään 200 merkkiä).",
    "person_hold_set": "Aseta säilytysvelvoite",
    "person_hold_lift": "Pura säilytysvelvoite",
    "person_hold_set_ok": "Säilytysvelvoite asetettu.",
    "person_hold_lifted_ok": "Säilytysvelvoite purettu.",
    "person_erase_title": "Tietojen poistaminen",
    "person_erase_help": (
        "Poistaa henkilön tunnuksen Entra ID:stä ja henkilötiedot idopsista heti. Sijaisuuksien "
        "päivämäärät ja tapahtumat säilyvät nimettöminä."
    ),
    "person_erase_held": "Tietoja ei voi poistaa, kun säilytysvelvoite on voimassa.",
    "person_erase": "Poista henkilötiedot",
    "erase_title": "Poistetaanko henkilötiedot?",
    "erase_text": (
        "Tunnus {upn} poistetaan Entra ID:stä (myös poistettujen kohteiden säilöstä), ja nimi, "
        "yhteystiedot ja tunnus poistetaan idopsista. Poistoa ei voi perua."
    ),
    "erase_open": "Henkilöllä on avoimia sijaisuuksia ({n}):",
    "erase_end_open": "Päätä avoimet sijaisuudet nyt",
    "erase_confirm": "Poista pysyvästi",
    "erased_ok": "Henkilötiedot poistettu.",
    "event_other": "Muu tapahtuma",
    "actor_idops": "idops (automaattinen)",
    "actor_job": "Ajastettu ajo: {job}",
    "actor_unknown": "Järjestelmä",
    # admin: MFA
    "mfa_title": "Monivaiheinen tunnistautuminen (MFA)",
    "mfa_as_of": "Tiedot synkronoitu",
    "mfa_no_data": "MFA-tietoja ei ole vielä synkronoitu. Tiedot päivittyvät yöllä.",
    "mfa_role_staff": "Henkilökunta",
    "mfa_role_pupil": "Oppilaat",
    "mfa_role_substitute": "Sijaiset",
    "mfa_target": "tavoite",
    "mfa_target_term": "Tavoite",
    "mfa_capable": "MFA käyttövalmis",
    "mfa_registered": "MFA rekisteröity",
    "mfa_used": "MFA käytössä",
    "mfa_excluded": "Pois laskuista",
    "mfa_below": "alle tavoitteen",
    "mfa_schools": "Koulut",
    "mfa_share_of": "{part} / {total}",
    "mfa_terms_note": "Käyttövalmis tarkoittaa, että henkilö on rekisteröinyt menetelmän, jonka kunnan "
    "asetukset sallivat.",
    "mfa_trend": "Kehitys (30 päivää)",
    "mfa_trend_desc": "MFA-käyttövalmiiden osuus päivittäin roolin mukaan; katkoviivat ovat tavoitteita.",
    "mfa_trend_table": "Kehitys taulukkona",
    "mfa_trend_empty": "Ei vielä tietoa kehityksestä: tilannekuvia on alle kahdelta päivältä. Kehitys näkyy, "
    "kun tiedot on synkronoitu kahtena päivänä.",
    "date": "Päivä",
    "mfa_unregistered": "Henkilökunta, jolla MFA ei ole rekisteröity",
    "mfa_unregistered_help": "Näytetään enintään {n} ensimmäistä. Koko luettelo tiedostona:",
    "mfa_methods": "Rekisteröidyt menetelmät",
    "staff_code_title": "Kirjautumiskoodi henkilökunnalle",
    "staff_code_help": "Anna henkilökuntaan kuuluvalle väliaikainen kirjautumiskoodi (Temporary Access Pass), "
    "jolla hän voi rekisteröidä monivaiheisen tunnistautumisen uudelleen, esimerkiksi kadonneen puhelimen "
    "tilalle. Koodi näytetään vain kerran, eikä sitä tallenneta.",
    "staff_code_reason": "Syy",
    "staff_code_reason_hint": "Tallentuu tapahtumalokiin, esimerkiksi \"puhelin kadonnut, tiketti 4711\".",
    "staff_code_reason_missing": "Kirjoita syy (vähintään 3 merkkiä).",
    "staff_steps_title": "Näin MFA rekisteröidään uudelleen",
    "staff_steps_1": "Avaa osoite",
    "staff_steps_4": "Poista kadonneen laitteen menetelmä ja lisää uusi, esimerkiksi Microsoft Authenticator "
    "-sovellus.",
    "staff_back_to_mfa": "Takaisin MFA-tilanteeseen",
    "mfa_none_unregistered": "Kaikilla on MFA rekisteröity.",
    "mfa_excluded_note": "Laskuista on jätetty pois {n} tunnusta (poistettu käytöstä, vierastunnukset, "
    "palvelutunnukset ja sijaiset, joiden jakso ei ole alkanut).",
    "csv_download": "Lataa CSV:",
    "csv_powerbi": "Power BI",
    "csv_excel_fi": "Excel (suomi)",
    # MFA methods (Graph's methodsRegistered)
    "method_email": "sähköposti",
    "method_mobilePhone": "matkapuhelin (tekstiviesti tai puhelu)",
    "method_alternateMobilePhone": "toinen matkapuhelin",
    "method_officePhone": "työpuhelin",
    "method_microsoftAuthenticatorPush": "Microsoft Authenticator -ilmoitus",
    "method_microsoftAuthenticatorPasswordless": "Microsoft Authenticator, salasanaton",
    "method_softwareOneTimePasscode": "todentajasovelluksen koodi",
    "method_hardwareOneTimePasscode": "laitetunniste (koodi)",
    "method_fido2": "FIDO2-suojausavain",
    "method_windowsHelloForBusiness": "Windows Hello for Business",
    "method_temporaryAccessPass": "kertakäyttöinen kirjautumiskoodi",
    "method_securityQuestion": "turvakysymykset",
    "method_passKeyDeviceBound": "pääsyavain",
    "method_other": "muu menetelmä",
    # admin: coverage
    "coverage_title": "Yhden tunnuksen kattavuus",
    "coverage_headline": "Henkilökunnasta yhdellä tunnuksella toimivia",
    "coverage_full": "Avaa koko raportti",
    "coverage_none": "Yhden tunnuksen kattavuusraporttia ei ole vielä laadittu.",
    "coverage_generated": "Laadittu",
    "coverage_terms_note": "Mitä luvut tarkoittavat:",
    "staff_persons": "Henkilökuntaa",
    "account_coverage": "Tunnuskattavuus",
    "app_coverage": "Sovelluskattavuus",
    "headline_share": "Yhden tunnuksen osuus",
    "separate_apps": "Sovellukset, jotka vaativat vielä erillisen tunnuksen",
    "app": "Sovellus",
    "users": "Käyttäjiä",
    # the full report
    "rep_title": "Yhden tunnuksen kattavuusraportti",
    "rep_headline_note": "Osuus henkilökunnasta, jolla on täsmälleen yksi käytössä oleva tunnus ja jonka kunnan "
    "sovelluskartoituksessa ei ole erillistä tunnusta vaativaa sovellusta.",
    "rep_window": "kirjautumistiedot {n} vrk ajalta",
    "rep_previous": "edellinen raportti",
    "rep_no_previous": "Ei aiempaa raporttia vertailtavaksi.",
    "rep_change": "Muutos edellisestä",
    "rep_region": "Seutu",
    "rep_staff_persons": "Henkilökuntaa (henkilöä)",
    "rep_single_account": "Yksi tunnus",
    "rep_multi_account": "Useita tunnuksia",
    "rep_weighted": "Sovelluskattavuus käyttäjämäärällä painotettuna",
    "rep_total": "Yhteensä",
    "rep_no_signins": "Kirjautumistietoja ei ole saatavilla: kunnan Microsoft-ympäristössä ei ole Entra ID "
    "P1- tai P2-lisenssiä.",
    "rep_signins_unknown": "Kirjautumistietoja ei ole vielä luettu.",
    "rep_municipalities": "Kunnat",
    "rep_none": "Ei yhtään.",
    "rep_unknown_apps": "Sovelluskartoituksesta puuttuvat sovellukset",
    "rep_unknown_note": "Nähty Entra ID:n kirjautumislokeissa, mutta ei sovelluskartoituksessa. Lisää ne "
    "kartoitukseen.",
    "rep_app_id": "Sovelluksen tunniste",
    "rep_sso_mode": "Kertakirjautumisen tapa",
    "rep_persons": "Henkilöt, joilla on useita käytössä olevia tunnuksia",
    "rep_accounts": "Tunnukset",
    "rep_disabled": "poistettu käytöstä",
    "rep_scrubbed": "(nimi poistettu säilytysajan jälkeen)",
    "rep_back": "Takaisin kattavuuden yhteenvetoon",
    "sso_oidc": "OpenID Connect",
    "sso_saml": "SAML",
    "sso_password": "salasanan tallennus",
    "sso_linked": "linkki toiseen palveluun",
    "sso_notSupported": "ei tuettu",
    "sso_none": "ei asetettu",
    "sso_other": "muu",
    # admin: substitutes, jobs, region
    "admin_substitutes_title": "Kunnan sijaistunnukset",
    "region_substitutes_title": "Seudun sijaistunnukset",
    "filter": "Suodata",
    "all": "Kaikki",
    "next_page": "Seuraava sivu",
    "first_page": "Ensimmäinen sivu",
    "no_substitutes": "Ei sijaistunnuksia.",
    "jobs_title": "Ajastetut ajot",
    "jobs_intro": "idops hoitaa nämä tehtävät itse aikataulun mukaan. Ajon voi käynnistää myös heti.",
    "last_run": "Edellinen ajo",
    "outcome": "Tulos",
    "next_run": "Seuraava ajo",
    "run_now": "Aja nyt",
    "jobs_limited": (
        "Käynnistämäsi ajo koskee vain oman kuntasi Entra-tenanttia ja kouluja; näet vain oman kuntasi osuudet"
        " ja määrät."
    ),
    "run_started": "Ajo ”{name}” käynnistetty.",
    "job_error_note": "Ajossa oli virheitä. Lokista ne löytyvät ajon tunnisteella",
    "never": "ei koskaan",
    "outcome_succeeded": "onnistui",
    "outcome_partial": "onnistui osittain",
    "outcome_failed": "epäonnistui",
    "outcome_skipped": "ohitettu",
    "outcome_running": "käynnissä",
    "outcome_abandoned": "keskeytyi",
    "job_activate": "Aktivointi",
    "job_activate_desc": "Ottaa käyttöön tunnukset, joiden sijaisuus on alkanut, ja jatkaa kesken jääneet luonnit.",
    "job_expire": "Päättäminen",
    "job_expire_desc": "Sulkee tunnukset, joiden sijaisuus on päättynyt, katkaisee kirjautumiset ja poistaa "
    "ryhmät ja lisenssit.",
    "job_reconcile": "Täsmäytys",
    "job_reconcile_desc": "Sulkee uudelleen käsin käyttöön otetut tunnukset ja ilmoittaa tuntemattomista "
    "idops-tunnuksista.",
    "job_purge": "Poisto",
    "job_purge_desc": "Poistaa tunnukset varoajan jälkeen ja henkilötiedot säilytysajan jälkeen.",
    "job_notify_expiring": "Päättymismuistutukset",
    "job_notify_expiring_desc": "Muistuttaa rehtoreita sähköpostilla ennen sijaistunnusten päättymistä.",
    "job_notify_approvals": "Hyväksyntäilmoitukset",
    "job_notify_approvals_desc": "Lähettää tietohallinnolle koosteen hyväksyntää odottavista pyynnöistä ja "
    "kertoo pyytäjälle päätöksen.",
    "job_housekeeping": "Siivous",
    "job_housekeeping_desc": "Poistaa vanhat ajotiedot ja käytetyt pyyntöavaimet.",
    "job_sync_mfa": "MFA-synkronointi",
    "job_sync_mfa_desc": "Lukee hakemistot ja MFA-rekisteröinnit ja tallentaa päivän MFA-tilannekuvan.",
    "job_ingest_signins": "Kirjautumistietojen luku",
    "job_ingest_signins_desc": "Lukee uudet kirjautumiset päivittäisiksi yhteenvedoiksi henkilön ja sovelluksen "
    "mukaan.",
    "job_single_login_report": "Kattavuusraportti",
    "job_single_login_report_desc": "Lukee kirjautumiset ja laatii yhden tunnuksen kattavuusraportin.",
    "job_other": "Ajo",
    "job_other_desc": "",
    "region_title": "Kuntavertailu",
    "region_mfa": "MFA kunnittain",
    "region_coverage": "Yhden tunnuksen kattavuus kunnittain",
    # demo clock
    "clock_title": "Demokello",
    "clock_now": "Palvelun aika nyt",
    "clock_offset": "Siirretty eteenpäin",
    "clock_hours": "Siirrä eteenpäin (tuntia)",
    "clock_submit": "Siirrä kelloa ja aja aktivointi ja päättäminen",
    "clock_advanced": "Kelloa siirrettiin {hours} h. Aktivointi: {activate}, päättäminen: {expire}.",
    "clock_bad": "Anna tuntimäärä väliltä 0,25–2400.",
    "clock_help": "Vain demotilassa: siirtää palvelun kelloa eteenpäin, jotta tulossa olevan sijaisuuden "
    "alkamisen ja päättymisen voi kokeilla heti.",
    "hours_unit": "h",
    # help page
    "help_title": "Ohje ja käsitteet",
    "help_intro": "Mitä idopsin luvut tarkoittavat ja miten ne lasketaan.",
    "help_toc": "Sisältö",
    "help_what_is": "Mitä tämä tarkoittaa?",
    "help_term_mfa": "MFA-luvut",
    "help_term_headline": "Yhden tunnuksen osuus",
    "help_mfa_title": "Monivaiheinen tunnistautuminen (MFA)",
    "help_mfa_intro": "MFA-luvut lasketaan kunnittain, kouluittain ja rooleittain (henkilökunta, oppilaat, "
    "sijaiset) Microsoftin rekisteröintiraportista joka yö.",
    "help_mfa_registered": "Henkilö on rekisteröinyt vähintään yhden vahvan tunnistautumismenetelmän, "
    "esimerkiksi Microsoft Authenticator -sovelluksen. Menetelmä ei välttämättä ole kunnan asetusten sallima.",
    "help_mfa_capable": "Henkilö on rekisteröinyt menetelmän, jonka kunnan asetukset sallivat, eli hän voi "
    "tunnistautua monivaiheisesti. Tavoitteet koskevat tätä lukua.",
    "help_mfa_used": "Niiden kirjautumisten osuus, joissa monivaiheinen tunnistautuminen tehtiin, viimeisten 30 "
    "päivän ajalta. Luku puuttuu, jos kunnalla ei ole kirjautumistietoja.",
    "help_mfa_target": "Käyttövalmiiden tavoiteosuus: henkilökunta {staff}, oppilaat {pupil}. Alle tavoitteen "
    "jäävät luvut on merkitty punaisella ja sanalla ”alle tavoitteen”.",
    "help_mfa_excluded": "Laskuista jätetään pois käytöstä poistetut tunnukset, vierastunnukset, palvelu- ja "
    "yhteistunnukset sekä sijaiset, joiden jakso ei ole alkanut.",
    "help_mfa_freshness": "Microsoftin raportti päivittyy viiveellä, jopa muutamia tunteja. Juuri rekisteröity "
    "menetelmä näkyy luvuissa seuraavana päivänä.",
    "help_sl_title": "Yhden tunnuksen kattavuus",
    "help_sl_intro": "Tavoitteena on, että jokainen henkilökunnan jäsen toimii yhdellä tunnuksella kaikissa "
    "työssä tarvittavissa sovelluksissa.",
    "help_sl_persons": "Henkilöt tunnistetaan henkilönumerosta (tai sähköpostista), joten samalla henkilöllä "
    "voi olla tunnus useammassa kunnassa. Henkilö lasketaan jokaiseen kouluun, jossa hän on henkilökuntaa.",
    "help_sl_account": "Tunnuskattavuus on niiden henkilöiden osuus, joilla on täsmälleen yksi käytössä oleva "
    "tunnus kaikissa seudun kunnissa.",
    "help_sl_app": "Sovelluskattavuus on niiden käytössä olevien sovellusten osuus, joihin kirjaudutaan samalla "
    "tunnuksella (Entra-kertakirjautuminen tai MPASSid, kun sen kotiorganisaatio on Entra ID).",
    "help_sl_weighted": "Sama osuus, kun jokainen sovellus painotetaan käyttäjiensä määrällä: paljon käytetty "
    "sovellus vaikuttaa enemmän kuin harvoin käytetty.",
    "help_sl_headline": "Yhden tunnuksen osuus on pääluku: niiden henkilöiden osuus, joilla on yksi tunnus ja "
    "joiden kunnassa mikään henkilökunnan sovellus ei vaadi erillistä tunnusta.",
    "help_sl_separate": "Sovellukset, joihin kirjaudutaan vielä omalla tunnuksella, järjestettynä käyttäjämäärän "
    "mukaan: näiden siirtäminen kertakirjautumiseen nostaa osuutta eniten.",
    "help_sub_title": "Sijaistunnukset",
    "help_sub_account": "Sijaistunnus",
    "help_sub_account_text": "Henkilökohtainen, määräaikainen Microsoft-tunnus sijaiselle. Palaava sijainen saa "
    "saman tunnuksen takaisin. Tunnus suljetaan automaattisesti sijaisuuden päättyessä.",
    "help_sub_code_text": "Väliaikainen koodi (Temporary Access Pass), jolla sijainen kirjautuu ensimmäisen "
    "kerran ja ottaa käyttöön monivaiheisen tunnistautumisen. Koodi näytetään vain kerran; sen voi valmistella "
    "jo ennen sijaisuuden alkua.",
    "help_sub_status_text": "Tulossa: jakso ei ole alkanut. Voimassa: tunnus on käytössä. Päättynyt: tunnus on "
    "suljettu, ja se poistetaan varoajan jälkeen.",
    "help_session_title": "Kirjautuminen",
    "help_session_text": "Kirjautuminen päättyy, kun kirjaudut ulos, kun palvelua ei ole käytetty kahdeksaan "
    "tuntiin, ja viimeistään 12 tunnin kuluttua kirjautumisesta. Jos jätit palvelun auki toiselle laitteelle, "
    "voit päättää kaikki kirjautumisesi kerralla.",
    # accessibility statement
    "a11y_title": "Saavutettavuusseloste",
    "a11y_intro": "Tämä saavutettavuusseloste koskee idops-palvelua ({region}). Palvelua koskee laki "
    "digitaalisten palvelujen tarjoamisesta (306/2019), jonka mukaan julkisten verkkopalvelujen on oltava "
    "saavutettavia.",
    "a11y_date": "Seloste on laadittu tai päivitetty {date}.",
    "a11y_status_title": "Digipalvelun saavutettavuuden tila",
    "a11y_status": "Täyttää saavutettavuusvaatimukset osittain.",
    "a11y_standard": "Palvelu on tehty täyttämään WCAG 2.1 -ohjeiston A- ja AA-tason kriteerit "
    "(EN 301 549). Alla luetellut puutteet tunnetaan.",
    "a11y_gaps_title": "Ei-saavutettava sisältö",
    "a11y_gaps_intro": "Käyttäjä voi kohdata palvelussa vielä joitakin saavutettavuusongelmia:",
    "a11y_gap_chart": "MFA-kehityksen kaavio on kuva. Samat tiedot ovat kaavion alla taulukkona.",
    "a11y_gap_tables": "Leveät raporttitaulukot vierivät kapealla näytöllä vaakasuunnassa omassa alueessaan.",
    "a11y_gap_csv": "CSV-tiedostot on tarkoitettu jatkokäsittelyyn; samat tiedot ovat sivuilla taulukkoina.",
    "a11y_gap_microsoft": "Kirjautuminen ja monivaiheisen tunnistautumisen käyttöönotto tapahtuvat Microsoftin "
    "sivuilla, joiden saavutettavuudesta vastaa Microsoft.",
    "a11y_gap_evaluation": "Palvelun saavutettavuutta ei ole vielä arvioinut ulkopuolinen asiantuntija.",
    "a11y_method_title": "Miten saavutettavuus on arvioitu",
    "a11y_method": "Seloste perustuu itsearvioon. Jokainen sivu tarkistetaan automaattisesti axe-työkalulla "
    "1 280 ja 360 kuvapisteen levyisellä näytöllä, lomakkeet täytetään testeissä pelkällä näppäimistöllä, ja "
    "virheilmoitukset tarkistetaan ruudunlukijan kannalta.",
    "a11y_feedback_title": "Palaute ja yhteystiedot",
    "a11y_feedback": "Huomasitko saavutettavuuspuutteen? Kerro siitä meille, niin korjaamme sen. Vastaamme "
    "kahden viikon kuluessa.",
    "a11y_email": "Sähköposti:",
    "a11y_phone": "Puhelin:",
    "a11y_no_contact": "Palautteen yhteystietoja ei ole vielä asetettu. Ota yhteyttä kunnan tietohallintoon.",
    "a11y_enforcement_title": "Valvontaviranomainen",
    "a11y_enforcement": "Jos huomaat palvelussa saavutettavuusongelmia, anna ensin palautetta meille. Vastauksessa "
    "voi mennä 14 päivää. Jos et ole tyytyväinen saamaasi vastaukseen tai et saa vastausta lainkaan kahden viikon "
    "aikana, voit tehdä ilmoituksen valvontaviranomaiselle. Valvontaviranomaisen sivuilla kerrotaan, miten "
    "ilmoituksen voi tehdä ja miten asia käsitellään.",
    "a11y_authority": "Liikenne- ja viestintävirasto Traficom",
    "a11y_authority_unit": "Saavutettavuusvalvonta",
    "a11y_authority_history": "Saavutettavuusvalvonta siirtyi Etelä-Suomen aluehallintovirastolta Liikenne- ja "
    "viestintävirasto Traficomille 1.1.2025.",
    "run_already_running": "”{name}”: ajo on jo käynnissä. Uutta ajoa ei käynnistetty.",
    "run_region_only": "”{name}” koskee koko aluetta: vain alueen pääkäyttäjä voi käynnistää sen.",
    "run_in_progress": "Ajo on käynnissä ({since} alkaen).",
    "run_busy_button": "Ajo on jo käynnissä",
    "overdue_title": "Myöhässä: {n} tunnusta ei ole saatu suljettua",
    "overdue_help": "Näiden sijaisuuksien päättyminen ei ole onnistunut, joten tunnukset ovat yhä käytössä. idops "
    "yrittää uudelleen jokaisella päättämisajolla; jos tilanne jatkuu, tarkista hakemistopalvelun (Entra ID) tila "
    "ja idopsin oikeudet.",
    "overdue_item": "päättyi {ends}, viimeksi yritetty {tried} – {reason}",
    "overdue_reason_unavailable": "hakemistopalvelu ei vastannut",
    "overdue_reason_throttled": "hakemistopalvelu rajoitti pyyntöjä",
    "overdue_reason_forbidden": "idopsilta puuttuu oikeus",
    "overdue_reason_not_found": "tunnusta ei löytynyt",
    "overdue_reason_other": "hakemistopalvelu kieltäytyi",
    "event_end_overdue": "Päättäminen myöhässä: tunnusta ei saatu suljettua",
    "overdue_period": "Tunnuksen sulkeminen on myöhässä: sijaisuus päättyi {ends}, mutta sulkeminen ei ole "
    "onnistunut (viimeksi yritetty {tried}: {reason}). idops yrittää uudelleen automaattisesti.",
    "mfa_no_info": "ei tietoa",
    "mfa_reason_premium_required": "kunnalla ei ole Entra ID P1 -lisenssiä, joten Microsoftin raporttia ei ole, "
    "eikä käyttäjien menetelmiä ole vielä ehditty lukea yksitellen",
    "mfa_reason_permission_missing": "idopsilla ei ole oikeutta lukea rekisteröintitietoja (Entra ID:n "
    "sovellusoikeus puuttuu)",
    "mfa_reason_sync_failed": "tietojen haku epäonnistui; yritetään uudelleen seuraavassa ajossa",
    "mfa_reason_not_synced": "tietoja ei ole vielä haettu",
    "mfa_reason_other": "tiedot puuttuvat",
    "mfa_source_report": "Microsoftin rekisteröintiraportti",
    "mfa_source_per_user_scan": "käyttäjien menetelmät luettu yksitellen",
    "mfa_source_mixed": "raportti ja yksitellen luetut",
    "mfa_source_none": "–",
    "mfa_sources": "Lukujen lähde ja ikä kunnittain",
    "mfa_source": "Lähde",
    "mfa_as_of_col": "Tiedot ajalta",
    "mfa_state": "Tila",
    "mfa_state_measured": "ajan tasalla",
    "mfa_stale_short": "vanhentunut",
    "mfa_stale": "Luvut ovat vanhoja (tiedot ajalta {when}): tuoreempaa tietoa ei ole saatu.",
    "mfa_unmeasured_short": "{n} ilman tietoa",
    "mfa_unmeasured": "{n} henkilöltä ei ole tietoa ({reason}); heitä ei ole laskettu osuuksiin.",
    "mfa_missing_note": "Yhteisluvuista puuttuu kuntia kokonaan tai osittain:",
    "mfa_missing_users": "{n} henkilöä",
    "mfa_used_of": "({users} henkilön {signins} kirjautumisesta)",
    "mfa_used_unknown": "{n} kirjautumisesta ei tiedetä, vaadittiinko MFA (ei laskettu osuuteen)",
    "mfa_used_no_log": "ei kirjautumistietoja (lisenssi)",
    "mfa_excluded_by_reason": "Pois laskuista: käytöstä poistetut {disabled}, vierastunnukset {guest}, "
    "poissulkuryhmä {group}, sijaisuus ei alkanut {not_started}.",
    "help_mfa_source_term": "Lukujen lähde",
    "help_mfa_source": "Luvut tulevat Microsoftin rekisteröintiraportista. Kunnalta, jolla ei ole Entra ID P1 "
    "-lisenssiä, raporttia ei saa: silloin idops lukee jokaisen käyttäjän tunnistautumismenetelmät yksitellen "
    "(henkilökunta ensin), ja luvuissa näkyy lähteenä ”käyttäjien menetelmät luettu yksitellen”. Käyttäjää, jonka "
    "tietoja ei ole vielä luettu, ei lasketa osuuksiin eikä listata MFA:ta vailla olevaksi: kohdassa lukee ”ei "
    "tietoa” ja syy. Jos tiedot ovat yli vuorokauden vanhoja, ne merkitään vanhentuneiksi.",
    "explain_title": "Mitä luvut kertovat",
    "explain_staff": "{n} henkilöä on henkilökuntaa jossakin näkymän koulussa; saman henkilön tunnukset "
    "tunnistetaan henkilönumerosta.",
    "explain_account": "{share}: {n} / {total} henkilöllä on täsmälleen yksi käytössä oleva tunnus – se ei vielä "
    "kerro, kirjaudutaanko kaikkiin sovelluksiin sillä.",
    "explain_app": "{share}: {n} / {total} henkilökunnan käyttämästä sovelluksesta kirjaudutaan samalla "
    "Microsoft-tunnuksella.",
    "explain_headline": "{share}: {n} / {total} henkilöllä on yksi tunnus, ja heidän kuntansa henkilökunta "
    "kirjautuu jokaiseen sovellukseen sillä.",
    "explain_headline_separate": "{share}: {n} / {total} henkilöä lasketaan, sillä henkilö lasketaan vain, jos "
    "hänen kuntansa henkilökunnan sovelluksista yksikään ei vaadi erillistä tunnusta – nyt {apps} sovellusta vaatii "
    "(eniten käytetty: {top}), joten luku voi olla 0 %, vaikka tunnuskattavuus olisi 100 %.",
}

EN: dict[str, str] = {
    "app_name": "idops",
    "skip": "Skip to content",
    "nav_label": "Main menu",
    "crumbs_label": "You are here",
    "nav_substitutes": "Substitute accounts",
    "nav_mfa": "MFA status",
    "nav_coverage": "Single-login coverage",
    "nav_admin_substitutes": "Municipality's substitutes",
    "nav_region_substitutes": "Region's substitutes",
    "nav_jobs": "Scheduled jobs",
    "nav_approvals": "Approvals",
    "bulk_title": "Several substitutes at once",
    "bulk_help": "Paste rows from a spreadsheet (at most {n}): name; start; end, for example "
    "\"Aino Äijälä; 1.12.2026 8.00; 5.12.2026 16.00\". Times may be left out (8.00 and 16.00). "
    "Separate the columns with semicolons or tabs.",
    "bulk_rows": "Rows",
    "bulk_grid_title": "Substitutes",
    "bulk_grid_help": "Write a name, start and end on each row (at most {n} rows), for example Aino Äijälä, "
    "1.12.2026 8.00 and 5.12.2026 16.00; times may be left out (8.00 and 16.00). Rows copied from a "
    "spreadsheet can be pasted into the first name cell.",
    "bulk_add_row": "Add a row",
    "code_mail": "E-mail the code to the substitute",
    "code_mailed": "The sign-in code and instructions were e-mailed to {to}. The code is not shown here.",
    "bulk_paste_title": "Paste rows as text",
    "bulk_submit": "Request the accounts",
    "bulk_rows_count": "Paste 1–{n} rows.",
    "bulk_results": "Results per row",
    "bulk_line": "Row",
    "bulk_outcome": "Result",
    "bulk_unreadable_name": "The name could not be read: write the given name and surname.",
    "bulk_unreadable_start": "The start could not be read: write the date as 1.12.2026.",
    "bulk_unreadable_end": "The end could not be read: write the date as 5.12.2026.",
    "bulk_graph_down": "Microsoft's service did not answer; try this row again later.",
    "approvals_title": "Requests awaiting approval",
    "approvals_help": "These substitute requests exceed a limit of the municipality. An approved request is "
    "handled like any other; the reason for a denial is shown to the requester.",
    "approvals_none": "No requests are awaiting approval.",
    "approval_limits": "Limit exceeded",
    "approval_decision": "Decision",
    "approve": "Approve",
    "deny": "Deny",
    "deny_reason": "Reason for denial",
    "approval_reason_missing": "Write the reason for the denial (at least 3 characters).",
    "approved_ok": "Request approved; the account is being created.",
    "denied_ok": "Request denied; the requester sees the reason.",
    "over_quota": "the school's maximum number of substitute accounts",
    "over_seats": "no licences left",
    "over_max_lead_days": "requested too far ahead",
    "over_max_duration_days": "period too long",
    "requested_awaiting": "The request exceeds a limit of the municipality and awaits IT approval. This page "
    "shows the decision.",
    "problem_awaiting": "The request awaits approval by the municipality's IT administration.",
    "problem_denied": "The municipality's IT administration denied the request: {reason}",
    "nav_region": "Municipality comparison",
    "nav_demo_clock": "Demo clock",
    "lang_switch": "Suomeksi",
    "lang_switch_lang": "fi",
    "signed_in_as": "Signed in",
    "sign_out": "Sign out",
    "sign_in": "Sign in",
    "sign_in_title": "Sign in",
    "sign_in_entra": "Sign in with a Microsoft account",
    "sign_in_intro": "Sign in with your school's or municipality's Microsoft account (Entra ID).",
    "sign_in_not_configured": "Sign-in is not available yet. Please contact the service's administrators.",
    "sign_in_failed": "Sign-in failed. Please try again.",
    "signed_out": "You have signed out.",
    "signed_out_everywhere": "You have signed out on every device.",
    "sign_out_everywhere": "Sign out on every device",
    "demo_sign_in_title": "Sign in as a demo user",
    "demo_sign_in_intro": "In demo mode you can sign in as any of the users below. "
    "In production, sign-in goes through Entra ID.",
    "demo_principals": "Principals",
    "demo_admins": "Administrators",
    "demo_it_admin": "IT admin",
    "demo_region_admin": "Region admin",
    "demo_sign_in_as": "Sign in",
    "demo_mode": "demo mode",
    "no_access": "Your account grants no access to any school or municipality.",
    "role_Principal": "Principal",
    "role_ItAdmin": "IT admin",
    "role_RegionAdmin": "Region admin",
    "optional": "optional",
    "no_data_yet": "No data yet.",
    "contact_title": "Support and contact",
    "contact_url": "Support page",
    "footer_about": "About the service",
    "error_title_prefix": "Error:",
    "error_prefix": "Error:",
    "error_404_title": "Page not found",
    "error_404": "Page not found. Check the address or go back to the front page.",
    "error_403_title": "No access",
    "error_401_title": "Sign-in required",
    "error_401": "Sign in to see this page.",
    "error_400_title": "Bad request",
    "error_409_title": "The action could not be done",
    "error_422_title": "Please check the data",
    "error_429_title": "Too many requests",
    "error_500_title": "Something went wrong",
    "error_500": "The service had an error. Please try again shortly. If it happens again, contact support and "
    "give the error id below.",
    "error_502_title": "Microsoft's service refused",
    "error_503_title": "Microsoft's service is not answering",
    "error_csrf": "The form's security token was missing or has expired. Reload the page and try again.",
    "error_request_id": "Error id for support:",
    "error_back": "Front page",
    "check_fields": "Please check the form ({n})",
    "my_schools": "Your schools",
    "substitutes_of": "Substitute accounts",
    "request_new": "Request a substitute account",
    "upcoming": "Upcoming",
    "active": "Active",
    "ended": "Ended",
    "none_upcoming": "No upcoming substitute accounts.",
    "none_active": "No active substitute accounts.",
    "none_ended": "No ended substitute accounts.",
    "name": "Name",
    "account": "Account",
    "starts": "Starts",
    "ends": "Ends",
    "cancelled_before_start": "Cancelled before the start {at}",
    "would_have_started": "would have started {at}",
    "status": "Status",
    "school": "School",
    "municipality": "Municipality",
    "open": "Open",
    "status_requested": "requested",
    "status_provisioning": "being created",
    "status_scheduled": "scheduled",
    "status_active": "active",
    "status_expired": "expired",
    "status_revoked": "revoked",
    "status_deleted": "deleted",
    "status_failed": "failed",
    "status_missing": "missing in Entra ID",
    "status_awaiting_approval": "awaiting approval",
    "status_denied": "denied",
    "request_title": "Request a substitute account",
    "returning_title": "Has the person been a substitute in the municipality before?",
    "returning_help": "Search earlier substitutes by name or e-mail. A returning substitute gets "
    "the same account back.",
    "search": "Search",
    "search_label": "Name or e-mail",
    "search_none": "No earlier substitutes match “{q}”.",
    "search_short": "Type at least two characters.",
    "choose": "Choose",
    "chosen_person": "Returning substitute",
    "new_person": "New person",
    "change_person": "Change person",
    "last_at": "last",
    "person_title": "Substitute",
    "given_name": "Given name",
    "surname": "Surname",
    "email": "E-mail",
    "email_help": "For the substitute and for notices; not shown in the account.",
    "mobile_phone": "Mobile phone",
    "phone_help": "For example +358 40 123 4567",
    "period_title": "Substitution period",
    "start_date": "Start date",
    "start_time": "Start time",
    "end_date": "End date",
    "end_time": "End time",
    "date_help": "For example 30.11.2026",
    "time_help": "For example 8.15",
    "limits_title": "Limits",
    "limit_duration": "A substitution period can last at most {n} days.",
    "limit_lead": "An account can be requested at most {n} days ahead (starting by {latest}).",
    "limit_quota": "The school can have at most {n} substitute accounts at the same time.",
    "limit_tap_hours": "Sign-in codes can be given only on weekdays {a}:00–{b}:00.",
    "limit_past": "A period that has already started begins as soon as the account is ready.",
    "submit_request": "Request a substitute account",
    "cancel": "Cancel",
    "err_given_name": "Enter a given name.",
    "err_surname": "Enter a surname.",
    "err_name_chars": "The name has characters that cannot be used.",
    "err_email": "The e-mail address is not valid. Use the form name@example.fi.",
    "err_phone": "The phone number is not valid. Use the form +358 40 123 4567.",
    "err_date": "Enter a date as dd.mm.yyyy, for example 27.11.2026.",
    "err_time": "Enter a time as 8.15.",
    "requested_ok": "Substitute account created: {name}. Valid {start} – {end}.",
    "substitute_title": "Substitute account",
    "upn": "User name",
    "created": "Requested",
    "extend_title": "Extend",
    "extend_help": "New end. A period can last at most {n} days from its start (until {latest}).",
    "new_end_date": "New end date",
    "new_end_time": "New end time",
    "extend_submit": "Extend",
    "extended_ok": "Extended: ends {end}.",
    "end_section": "End the substitute account",
    "end_section_help": "The account is disabled at once. You are asked to confirm first.",
    "end_now": "End now",
    "end_title": "End the substitute account now",
    "end_confirm_text": "The account {upn} is disabled at once and the substitute's sessions are revoked. "
    "This cannot be undone.",
    "end_confirm": "Yes, end the account now",
    "ended_ok": "The substitute account has been ended.",
    "problem_no_seats": "The account could not be created because the school has no licences left. Please contact "
    "the municipality's IT administration.",
    "problem_failed": "Creating the account failed. Please contact the municipality's IT administration and give "
    "the error id.",
    "problem_retrying": "The account is still being processed because Microsoft's service did not answer. idops "
    "retries automatically; you need not do anything.",
    "problem_missing": "The account was deleted from Entra ID outside idops. Please contact the municipality's IT "
    "administration.",
    "code_title": "Sign-in code",
    "code_title_once": "One-time sign-in code",
    "code_give": "Give a sign-in code",
    "code_help": "Give the code to the substitute when they are here. The code is shown only once.",
    "code_only_active": "A sign-in code can be given for an active or upcoming account.",
    "code_help_ahead": "You can prepare the code before the substitution starts: it works only from the start "
    "{start}. A new code replaces the earlier one.",
    "code_ahead": "The code works only once the substitution starts.",
    "code_shown_once": "The code is shown only this once. It does not show again if you reload the page.",
    "code_read_hint": "The code is grouped in fours to make it easier to read; the spaces are not typed. "
    "Capital and small letters are different characters.",
    "code_valid": "Valid",
    "code_usable_once": "The code can be used to sign in only once.",
    "code_usable_many": "The code can be used several times while it is valid.",
    "code_otp": "One-time password (must be changed at first sign-in)",
    "handover_title": "How the substitute signs in",
    "handover_1": "Open",
    "handover_2": "Type the user name {upn}.",
    "handover_3": "Type the sign-in code when asked.",
    "handover_3_otp": "Type the one-time password and change it to a password of their own.",
    "handover_4": "Set up multi-factor authentication (MFA) as instructed, for example the Microsoft "
    "Authenticator app.",
    "code_copy": "Copy code",
    "code_copied": "Code copied.",
    "code_already_shown": "The sign-in code was already shown. If it was lost, give a new code.",
    "back_to_substitute": "Back to the substitute account",
    "back_to_list": "Back to the list",
    "events_title": "Audit trail",
    "event_at": "Time",
    "event_actor": "By",
    "event_action": "Event",
    "event_requested": "Account requested",
    "event_account_created": "Account created in Entra ID",
    "event_page_sessions_ended": "Signed out on every device",
    "event_staff_access_pass_issued": "Sign-in code given to staff",
    "event_account_restored": "Earlier account restored",
    "event_account_reused": "Earlier account taken back into use",
    "event_provisioned": "Access granted",
    "event_provisioning_retry": "Creation interrupted, retrying",
    "event_failed": "Creating the account failed",
    "event_approval_requested": "The request exceeds a limit: awaiting IT approval",
    "event_approved": "IT approved the request",
    "event_denied": "IT denied the request",
    "event_activated": "Account enabled",
    "event_ends_at_changed": "End changed",
    "event_revoke_requested": "Ending requested",
    "event_expired": "Account expired",
    "event_revoked": "Account ended early",
    "event_missing": "Account missing in Entra ID",
    "event_deleted": "Account deleted",
    "event_expiry_notice": "Expiry reminder sent",
    "event_approval_digest": "Approval request sent to IT",
    "event_decision_notice": "Decision sent to the requester",
    "event_temporary_access_pass_issued": "Sign-in code given",
    "event_one_time_password_issued": "One-time password given",
    "event_re_disabled": "Account enabled by hand was disabled again",
    "event_orphan_found": "Unknown idops account found",
    "event_orphan_disabled": "Unknown idops account disabled",
    "event_re_enabled": "Account enabled again (it was disabled outside idops)",
    "event_access_restored": "Access given back: the next substitution began as the last one ended",
    "event_group_added": "Missing group membership added",
    "event_group_removed": "Extra group membership removed",
    "event_licence_added": "Missing licence added",
    "event_licence_removed": "Extra licence removed",
    "event_new_person_forced": "Created as a new person despite a substitute of the same name",
    # admin: drift
    "nav_drift": "Drift",
    "drift_title": "Drift in Entra ID",
    "drift_intro": "The reconcile job compares idops' substitute accounts with Entra ID and corrects the "
    "differences: enabled or not, idops' groups and licences. Here are its corrections and the accounts idops "
    "does not know.",
    "orphans_title": "Unknown idops accounts",
    "orphans_help": "Entra ID holds an account marked by idops that idops does not know (for example, the "
    "database was restored from a backup). By policy it is disabled and its groups and licences removed.",
    "no_orphans": "No unknown accounts.",
    "corrections_title": "Corrections",
    "no_corrections": "No corrections.",
    "drift_account": "Account",
    "drift_change": "Correction",
    "drift_concerns": "Concerns",
    "drift_group_of": "substitute group of {school}",
    "drift_licence_of": "substitutes' licence of {school}",
    "drift_group_many": "substitute group ({n} schools)",
    "drift_licence_many": "substitutes' licence ({n} schools)",
    "orphan_first_seen": "Found",
    "orphan_disabled_at": "Disabled",
    "unknown_municipality": "unknown",
    # seats
    "seats_free": "Free licences: {n}",
    "seats_none": "The school has no licences left: no new substitute account can be created until seats are "
    "freed. Contact the municipality's IT administration.",
    "seats_active": "A substitute gets the licence when the substitution starts; it is freed when it ends.",
    "seats_requested": "A licence is reserved for the substitute at the request and freed when the substitution "
    "ends.",
    "seats_unknown": "The number of free licences is not available right now.",
    # returning person: "is this the same person?"
    "same_person_title": "Is this the same person?",
    "same_person_help": "The municipality has had a substitute of the same name. If this is the same person, "
    "they get the same account back. Choose them, or say that this is a new person.",
    "same_person_yes": "Yes, the same person",
    "same_person_no": "No, a new person",
    "last_school_at": "Last: {school}, ended {end}",
    "event_scrubbed": "Personal data removed after retention",
    "event_exported": "Person's data downloaded (right of access)",
    "event_erased": "Personal data erased on request",
    "event_legal_hold_set": "Legal hold set",
    "event_legal_hold_lifted": "Legal hold lifted",
    "person_link": "Personal data",
    "person_data_title": "Substitute's personal data",
    "person_scrubbed_name": "(personal data removed)",
    "person_recorded": "Recorded",
    "person_account_deleted": "Account deleted from Entra ID",
    "person_retention_title": "Retention",
    "person_scrubbed_on": (
        "The personal data was removed on {date}. The substitutions' dates and events remain without "
        "names."
    ),
    "person_retention_held": (
        "A legal hold is on: the account and the personal data are not removed until it is lifted."
    ),
    "person_scrub_due": "The personal data is removed automatically on {date}.",
    "person_scrub_after": "The personal data is removed automatically {n} days after the last substitution ends.",
    "person_periods": "Substitutions",
    "person_export_title": "Right of access",
    "person_export_help": (
        "Download everything idops holds about the person as a file (JSON), for example to answer an "
        "access request. The download is recorded in the audit trail."
    ),
    "person_export": "Download the data",
    "person_hold_title": "Legal hold",
    "person_hold_help": (
        "Set a legal hold when the data is needed for an investigation or a dispute: the account and the "
        "personal data are then removed neither automatically nor on request."
    ),
    "person_hold_on": "Legal hold set on {date}, reference: {reason}.",
    "person_hold_reason": "Reference (for example the register number of the matter)",
    "person_hold_reason_error": "Give a reference (at most 200 characters).",
    "person_hold_set": "Set a legal hold",
    "person_hold_lift": "Lift the legal hold",
    "person_hold_set_ok": "Legal hold set.",
    "person_hold_lifted_ok": "Legal hold lifted.",
    "person_erase_title": "Erasure",
    "person_erase_help": (
        "Deletes the person's account from Entra ID and their personal data from idops at once. The "
        "substitutions' dates and events remain without names."
    ),
    "person_erase_held": "The data cannot be erased while a legal hold is on.",
    "person_erase": "Erase the personal data",
    "erase_title": "Erase the personal data?",
    "erase_text": (
        "The account {upn} is deleted from Entra ID (also from its deleted items), and the name, contact "
        "details and account name are removed from idops. This cannot be undone."
    ),
    "erase_open": "The person has open substitutions ({n}):",
    "erase_end_open": "End the open substitutions now",
    "erase_confirm": "Erase permanently",
    "erased_ok": "Personal data erased.",
    "event_other": "Other event",
    "actor_idops": "idops (automatic)",
    "actor_job": "Scheduled job: {job}",
    "actor_unknown": "System",
    "mfa_title": "Multi-factor authentication (MFA)",
    "mfa_as_of": "Data synced",
    "mfa_no_data": "MFA data has not been synced yet. It is updated at night.",
    "mfa_role_staff": "Staff",
    "mfa_role_pupil": "Pupils",
    "mfa_role_substitute": "Substitutes",
    "mfa_target": "target",
    "mfa_target_term": "Target",
    "mfa_capable": "MFA capable",
    "mfa_registered": "MFA registered",
    "mfa_used": "MFA used",
    "mfa_excluded": "Excluded",
    "mfa_below": "below target",
    "mfa_schools": "Schools",
    "mfa_share_of": "{part} / {total}",
    "mfa_terms_note": "Capable means the person has registered a method the municipality's settings allow.",
    "mfa_trend": "Trend (30 days)",
    "mfa_trend_desc": "Daily share of MFA-capable users by role; dashed lines are the targets.",
    "mfa_trend_table": "Trend as a table",
    "mfa_trend_empty": "No trend data yet: there are snapshots of fewer than two days. The trend shows once "
    "data has been synced on two days.",
    "date": "Date",
    "mfa_unregistered": "Staff without registered MFA",
    "mfa_unregistered_help": "Showing at most the first {n}. The whole list as a file:",
    "mfa_methods": "Registered methods",
    "staff_code_title": "Sign-in code for staff",
    "staff_code_help": "Give a staff member a Temporary Access Pass to register multi-factor authentication "
    "again, for example in place of a lost phone. The code is shown only once and never stored.",
    "staff_code_reason": "Reason",
    "staff_code_reason_hint": "Kept in the audit trail, e.g. \"phone lost, ticket 4711\".",
    "staff_code_reason_missing": "Write a reason (at least 3 characters).",
    "staff_steps_title": "How to register MFA again",
    "staff_steps_1": "Open",
    "staff_steps_4": "Remove the lost device's method and add a new one, for example the Microsoft Authenticator app.",
    "staff_back_to_mfa": "Back to MFA status",
    "mfa_none_unregistered": "Everyone has registered MFA.",
    "mfa_excluded_note": "{n} accounts are left out of the numbers (disabled, guests, service accounts "
    "and substitutes whose period has not started).",
    "csv_download": "Download CSV:",
    "csv_powerbi": "Power BI",
    "csv_excel_fi": "Excel (Finnish)",
    "method_email": "e-mail",
    "method_mobilePhone": "mobile phone (text or call)",
    "method_alternateMobilePhone": "second mobile phone",
    "method_officePhone": "office phone",
    "method_microsoftAuthenticatorPush": "Microsoft Authenticator notification",
    "method_microsoftAuthenticatorPasswordless": "Microsoft Authenticator, passwordless",
    "method_softwareOneTimePasscode": "authenticator app code",
    "method_hardwareOneTimePasscode": "hardware token (code)",
    "method_fido2": "FIDO2 security key",
    "method_windowsHelloForBusiness": "Windows Hello for Business",
    "method_temporaryAccessPass": "one-time sign-in code",
    "method_securityQuestion": "security questions",
    "method_passKeyDeviceBound": "passkey",
    "method_other": "other method",
    "coverage_title": "Single-login coverage",
    "coverage_headline": "Staff working with a single login",
    "coverage_full": "Open the full report",
    "coverage_none": "No single-login coverage report has been made yet.",
    "coverage_generated": "Generated",
    "coverage_terms_note": "What the numbers mean:",
    "staff_persons": "Staff",
    "account_coverage": "Account coverage",
    "app_coverage": "Application coverage",
    "headline_share": "Single-login share",
    "separate_apps": "Applications that still need a separate account",
    "app": "Application",
    "users": "Users",
    "rep_title": "Single-login coverage report",
    "rep_headline_note": "Share of staff persons with exactly one enabled account whose municipality's "
    "catalogue lists no app that needs a separate account.",
    "rep_window": "sign-in data of {n} days",
    "rep_previous": "previous report",
    "rep_no_previous": "No earlier report to compare with.",
    "rep_change": "Change since last run",
    "rep_region": "Region",
    "rep_staff_persons": "Staff (persons)",
    "rep_single_account": "One account",
    "rep_multi_account": "Several accounts",
    "rep_weighted": "Application coverage weighted by users",
    "rep_total": "Total",
    "rep_no_signins": "No sign-in data: the municipality's Microsoft tenant has no Entra ID P1 or P2 licence.",
    "rep_signins_unknown": "Sign-in data has not been read yet.",
    "rep_municipalities": "Municipalities",
    "rep_none": "None.",
    "rep_unknown_apps": "Applications missing from the catalogue",
    "rep_unknown_note": "Seen in Entra ID sign-in logs but not in the application catalogue. Add them to it.",
    "rep_app_id": "Application id",
    "rep_sso_mode": "Single sign-on mode",
    "rep_persons": "Persons with several enabled accounts",
    "rep_accounts": "Accounts",
    "rep_disabled": "disabled",
    "rep_scrubbed": "(name removed after the retention period)",
    "rep_back": "Back to the coverage summary",
    "sso_oidc": "OpenID Connect",
    "sso_saml": "SAML",
    "sso_password": "password vaulting",
    "sso_linked": "link to another service",
    "sso_notSupported": "not supported",
    "sso_none": "not set",
    "sso_other": "other",
    "admin_substitutes_title": "Substitute accounts of the municipality",
    "region_substitutes_title": "Substitute accounts of the region",
    "filter": "Filter",
    "all": "All",
    "next_page": "Next page",
    "first_page": "First page",
    "no_substitutes": "No substitute accounts.",
    "jobs_title": "Scheduled jobs",
    "jobs_intro": "idops does these tasks itself on schedule. A run can also be started at once.",
    "last_run": "Last run",
    "outcome": "Outcome",
    "next_run": "Next run",
    "run_now": "Run now",
    "jobs_limited": (
        "A run you start covers only your municipality's tenant and schools; you see only your municipality's"
        " units and counts."
    ),
    "run_started": "Job “{name}” started.",
    "job_error_note": "The run had errors. Find them in the log by the run's id",
    "never": "never",
    "outcome_succeeded": "succeeded",
    "outcome_partial": "partly succeeded",
    "outcome_failed": "failed",
    "outcome_skipped": "skipped",
    "outcome_running": "running",
    "outcome_abandoned": "abandoned",
    "job_activate": "Activation",
    "job_activate_desc": "Enables accounts whose substitution has started; resumes interrupted creations.",
    "job_expire": "Expiry",
    "job_expire_desc": "Disables accounts whose substitution has ended, revokes sessions, removes groups and "
    "licences.",
    "job_reconcile": "Reconciliation",
    "job_reconcile_desc": "Disables again accounts enabled by hand and reports unknown idops accounts.",
    "job_purge": "Purge",
    "job_purge_desc": "Deletes accounts after the grace period and personal data after retention.",
    "job_notify_expiring": "Expiry reminders",
    "job_notify_expiring_desc": "E-mails principals before their substitutes' accounts end.",
    "job_notify_approvals": "Approval notices",
    "job_notify_approvals_desc": "E-mails IT admins a digest of requests awaiting approval and tells requesters "
    "the decision.",
    "job_housekeeping": "Housekeeping",
    "job_housekeeping_desc": "Forgets old job runs and used request keys.",
    "job_sync_mfa": "MFA sync",
    "job_sync_mfa_desc": "Reads directories and MFA registration and stores the day's MFA snapshot.",
    "job_ingest_signins": "Sign-in reading",
    "job_ingest_signins_desc": "Reads new sign-ins into daily summaries per person and application.",
    "job_single_login_report": "Coverage report",
    "job_single_login_report_desc": "Reads sign-ins and makes the single-login coverage report.",
    "job_other": "Job",
    "job_other_desc": "",
    "region_title": "Municipality comparison",
    "region_mfa": "MFA by municipality",
    "region_coverage": "Single-login coverage by municipality",
    "clock_title": "Demo clock",
    "clock_now": "Service time now",
    "clock_offset": "Moved forward by",
    "clock_hours": "Move forward (hours)",
    "clock_submit": "Move the clock and run activation and expiry",
    "clock_advanced": "The clock moved {hours} h. Activation: {activate}, expiry: {expire}.",
    "clock_bad": "Enter a number of hours between 0.25 and 2400.",
    "clock_help": "Demo only: moves the service's clock forward so the start and end of an upcoming "
    "substitution can be tried at once.",
    "hours_unit": "h",
    "help_title": "Help and terms",
    "help_intro": "What idops' numbers mean and how they are counted.",
    "help_toc": "Contents",
    "help_what_is": "What does this mean?",
    "help_term_mfa": "MFA numbers",
    "help_term_headline": "Single-login share",
    "help_mfa_title": "Multi-factor authentication (MFA)",
    "help_mfa_intro": "MFA numbers are counted per municipality, school and role (staff, pupils, substitutes) "
    "from Microsoft's registration report every night.",
    "help_mfa_registered": "The person has registered at least one strong method, for example the Microsoft "
    "Authenticator app. The method is not necessarily allowed by the municipality's settings.",
    "help_mfa_capable": "The person has registered a method the municipality's settings allow: they can use "
    "multi-factor authentication. The targets apply to this number.",
    "help_mfa_used": "The share of sign-ins in the last 30 days that used multi-factor authentication. Missing "
    "when the municipality has no sign-in data.",
    "help_mfa_target": "The target share of capable users: staff {staff}, pupils {pupil}. Numbers below target "
    "are marked in red and with the words “below target”.",
    "help_mfa_excluded": "Left out of the numbers: disabled accounts, guests, service and shared accounts, and "
    "substitutes whose period has not started.",
    "help_mfa_freshness": "Microsoft's report is updated with a delay of up to a few hours. A method registered "
    "today shows in the numbers the next day.",
    "help_sl_title": "Single-login coverage",
    "help_sl_intro": "The goal: every member of staff works with one account in every application their work "
    "needs.",
    "help_sl_persons": "Persons are recognised by their employee number (or e-mail), so one person may have an "
    "account in several municipalities. A person counts in every school where they are staff.",
    "help_sl_account": "Account coverage is the share of persons with exactly one enabled account across the "
    "region's municipalities.",
    "help_sl_app": "Application coverage is the share of applications in use that are reached with the same "
    "account (Entra single sign-on, or MPASSid where its home organisation is Entra ID).",
    "help_sl_weighted": "The same share with each application weighted by its users: a much-used application "
    "counts more than a rarely used one.",
    "help_sl_headline": "The single-login share is the headline: the share of persons with one account whose "
    "municipality has no staff application that needs a separate account.",
    "help_sl_separate": "Applications still signed in to with an account of their own, by number of users: "
    "moving these to single sign-on raises the share the most.",
    "help_sub_title": "Substitute accounts",
    "help_sub_account": "Substitute account",
    "help_sub_account_text": "A personal, time-limited Microsoft account for a substitute. A returning substitute "
    "gets the same account back. The account is disabled automatically when the substitution ends.",
    "help_sub_code_text": "A temporary code (Temporary Access Pass) with which the substitute signs in the "
    "first time and sets up multi-factor authentication. The code is shown only once; it can be prepared "
    "before the substitution starts.",
    "help_sub_status_text": "Scheduled: the period has not started. Active: the account is in use. Expired: the "
    "account is disabled and deleted after the grace period.",
    "help_session_title": "Signing in",
    "help_session_text": "A sign-in ends when you sign out, when the service has not been used for eight hours, "
    "and at the latest 12 hours after signing in. If you left the service open on another device, you can end "
    "all your sign-ins at once.",
    "a11y_title": "Accessibility statement",
    "a11y_intro": "This accessibility statement applies to the idops service ({region}). The service is subject "
    "to the Act on the Provision of Digital Services (306/2019), which requires public online services to be "
    "accessible.",
    "a11y_date": "This statement was made or last reviewed on {date}.",
    "a11y_status_title": "Compliance status",
    "a11y_status": "The service partially meets the accessibility requirements.",
    "a11y_standard": "The service is built to meet the level A and AA success criteria of WCAG 2.1 "
    "(EN 301 549). The shortcomings listed below are known.",
    "a11y_gaps_title": "Non-accessible content",
    "a11y_gaps_intro": "Users may still meet some accessibility problems:",
    "a11y_gap_chart": "The MFA trend chart is an image. The same data is in a table below the chart.",
    "a11y_gap_tables": "On a narrow screen, wide report tables scroll sideways inside their own area.",
    "a11y_gap_csv": "CSV files are meant for further processing; the same data is on the pages as tables.",
    "a11y_gap_microsoft": "Signing in and setting up multi-factor authentication happen on Microsoft's pages, "
    "whose accessibility is Microsoft's responsibility.",
    "a11y_gap_evaluation": "The service's accessibility has not yet been evaluated by an outside expert.",
    "a11y_method_title": "How accessibility was evaluated",
    "a11y_method": "This statement is based on a self-assessment. Every page is checked automatically with "
    "axe at 1,280 and 360 pixels wide, forms are completed with the keyboard alone in the tests, and error "
    "messages are checked for screen readers.",
    "a11y_feedback_title": "Feedback and contact",
    "a11y_feedback": "Did you find an accessibility problem? Tell us and we will fix it. We answer within two "
    "weeks.",
    "a11y_email": "E-mail:",
    "a11y_phone": "Phone:",
    "a11y_no_contact": "No feedback contact has been set yet. Please contact the municipality's IT administration.",
    "a11y_enforcement_title": "Enforcement authority",
    "a11y_enforcement": "If you notice accessibility problems, first give feedback to us. An answer may take 14 "
    "days. If you are not satisfied with the answer, or get none within two weeks, you can report it to the "
    "enforcement authority. Its website explains how to report and how the matter is handled.",
    "a11y_authority": "Finnish Transport and Communications Agency Traficom",
    "a11y_authority_unit": "Accessibility supervision",
    "a11y_authority_history": "Accessibility supervision moved from the Regional State Administrative Agency for "
    "Southern Finland to Traficom on 1 January 2025.",
    "run_already_running": "“{name}”: the job is already running. No new run was started.",
    "run_region_only": "“{name}” covers the whole region: only a region administrator may run it.",
    "run_in_progress": "A run is in progress (since {since}).",
    "run_busy_button": "Already running",
    "overdue_title": "Overdue: {n} accounts could not be closed",
    "overdue_help": "Ending these substitutions has failed, so the accounts are still usable. idops tries again on "
    "every run of the end job; if it goes on, check the state of the directory service (Entra ID) and idops' "
    "permissions.",
    "overdue_item": "ended {ends}, last tried {tried} – {reason}",
    "overdue_reason_unavailable": "the directory service did not answer",
    "overdue_reason_throttled": "the directory service throttled the requests",
    "overdue_reason_forbidden": "idops lacks a permission",
    "overdue_reason_not_found": "the account was not found",
    "overdue_reason_other": "the directory service refused",
    "event_end_overdue": "End overdue: the account could not be closed",
    "overdue_period": "Closing this account is overdue: the substitution ended {ends}, but closing it has failed "
    "(last tried {tried}: {reason}). idops keeps trying automatically.",
    "mfa_no_info": "no data",
    "mfa_reason_premium_required": "the municipality has no Entra ID P1 licence, so Microsoft's report does not "
    "exist, and its users' methods have not all been read one by one yet",
    "mfa_reason_permission_missing": "idops may not read the registration data (an Entra ID application permission "
    "is missing)",
    "mfa_reason_sync_failed": "reading the data failed; it is retried on the next run",
    "mfa_reason_not_synced": "the data has not been read yet",
    "mfa_reason_other": "the data is missing",
    "mfa_source_report": "Microsoft's registration report",
    "mfa_source_per_user_scan": "users' methods read one by one",
    "mfa_source_mixed": "report and read one by one",
    "mfa_source_none": "–",
    "mfa_sources": "Source and age of the numbers by municipality",
    "mfa_source": "Source",
    "mfa_as_of_col": "Data as of",
    "mfa_state": "State",
    "mfa_state_measured": "up to date",
    "mfa_stale_short": "out of date",
    "mfa_stale": "These numbers are old (data as of {when}): no fresher data has come in.",
    "mfa_unmeasured_short": "{n} without data",
    "mfa_unmeasured": "{n} people have no data ({reason}); they are left out of the shares.",
    "mfa_missing_note": "The totals leave out municipalities, wholly or partly:",
    "mfa_missing_users": "{n} people",
    "mfa_used_of": "(of {signins} sign-ins of {users} people)",
    "mfa_used_unknown": "for {n} sign-ins it is not known whether MFA was required (left out of the share)",
    "mfa_used_no_log": "no sign-in data (licence)",
    "mfa_excluded_by_reason": "Left out: disabled {disabled}, guests {guest}, exclusion group {group}, substitution "
    "not started {not_started}.",
    "help_mfa_source_term": "Source of the numbers",
    "help_mfa_source": "The numbers come from Microsoft's registration report. A municipality without an Entra ID "
    "P1 licence has no report: then idops reads each user's authentication methods one by one (staff first), and "
    "the numbers name their source as “users' methods read one by one”. A user whose data has not been read yet is "
    "in no share and in no list of people without MFA: the page says “no data” and why. Data older than a day is "
    "marked out of date.",
    "explain_title": "What the numbers say",
    "explain_staff": "{n} people are staff at a school of this view; a person's accounts are matched by their "
    "employee number.",
    "explain_account": "{share}: {n} / {total} people have exactly one enabled account – which does not yet say "
    "that it signs them in everywhere.",
    "explain_app": "{share}: {n} / {total} of the apps the staff use sign in with the same Microsoft account.",
    "explain_headline": "{share}: {n} / {total} people have one account, and their municipality's staff sign in to "
    "every app with it.",
    "explain_headline_separate": "{share}: {n} / {total} people count, because a person counts only if none of "
    "their municipality's staff apps needs a separate account – now {apps} apps do (most used: {top}), so this can "
    "be 0 % while account coverage is 100 %.",
}

TEXTS: dict[str, dict[str, str]] = {"fi": FI, "en": EN}


def has(key: str) -> bool:
    return key in FI


def text(lang: Lang, key: str, **values: object) -> str:
    """The text ``key`` in ``lang`` (Finnish when missing), with ``{placeholders}`` filled.

    An unknown key comes back as itself, so a mistake shows on the page (and in the template test)."""
    raw = TEXTS.get(lang, FI).get(key) or FI.get(key) or key
    return raw.format(**values) if values else raw


def _word(lang: Lang, prefix: str, code: str | None, fallback: str) -> str:
    key = f"{prefix}_{code}"
    return text(lang, key if code and has(key) else fallback)


def event_label(lang: Lang, action: str) -> str:
    """An audit action (``account_created``) in words; unknown actions as "other event"."""
    return _word(lang, "event", action, "event_other")


def job_label(lang: Lang, name: str) -> str:
    return _word(lang, "job", name, "job_other")


def actor_label(lang: Lang, actor: str) -> str:
    """Who did it, by role — never an object id: ``Principal:<oid>`` → "Rehtori", ``job:expire`` →
    "Ajastettu ajo: Päättäminen", ``idops`` → "idops (automaattinen)"."""
    kind, _, rest = actor.partition(":")
    if has(f"role_{kind}"):
        return text(lang, f"role_{kind}")
    if kind == "job":
        return text(lang, "actor_job", job=job_label(lang, rest))
    if actor == "idops":
        return text(lang, "actor_idops")
    return text(lang, "actor_unknown")


def method_label(lang: Lang, method: str) -> str:
    """An MFA method of Graph's ``methodsRegistered`` (an open set) in words."""
    if method.startswith("passKey"):
        method = "passKeyDeviceBound"
    return _word(lang, "method", method, "method_other")


def sso_mode_label(lang: Lang, mode: str | None) -> str:
    """A service principal's ``preferredSingleSignOnMode`` in words."""
    return _word(lang, "sso", mode or "none", "sso_other")


def problem_note(lang: Lang, status: str, last_error: str | None, decision_reason: str | None = None) -> str | None:
    """What a principal should know about a period's trouble, in their words — never the recorded
    technical error (that stays in the log, found by the request id the page shows beside this)."""
    if status == "awaiting_approval":
        return text(lang, "problem_awaiting")
    if status == "denied":
        return text(lang, "problem_denied", reason=decision_reason or "–")
    if status == "missing":
        return text(lang, "problem_missing")
    if status == "failed":
        return text(lang, "problem_no_seats" if last_error == "no seats" else "problem_failed")
    if last_error and status in ("requested", "provisioning", "scheduled", "active"):
        return text(lang, "problem_retrying")
    return None


def overdue_reason(lang: Lang, code: str | None) -> str:
    """Why an end could not be carried out, in words (``GraphUnavailable`` → "the directory did not answer")."""
    kind = {
        "GraphUnavailable": "unavailable", "GraphThrottled": "throttled", "unavailable": "unavailable",
        "throttled": "throttled", "no_answer": "unavailable", "forbidden": "forbidden", "not_found": "not_found",
    }.get(code or "", "other")
    return text(lang, f"overdue_reason_{kind}")


def mfa_reason(lang: Lang, code: str | None) -> str:
    """Why MFA numbers are unavailable, in plain words (``premium_required`` → "no Entra ID P1 …")."""
    return _word(lang, "mfa_reason", code, "mfa_reason_other")


def mfa_source(lang: Lang, code: str | None) -> str:
    """Where MFA numbers come from (``report``, ``per_user_scan``, ``mixed``)."""
    return _word(lang, "mfa_source", code, "mfa_source_none")


def code_groups(secret: str, size: int = 4) -> list[str]:
    """A sign-in code in groups of ``size`` for reading aloud: ``ABCDEFGHJK`` → ``ABCD EFGH JK``."""
    return [secret[i : i + size] for i in range(0, len(secret), size)]
