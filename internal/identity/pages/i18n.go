package pages

import (
	"sort"
	"strconv"
	"strings"
)

// texts holds the pages' strings in Norwegian (bokmål) and English.
var texts = map[string]map[string]string{
	"en": {
		"loginTitle": "Log in", "credential": "E-mail address or mobile number", "password": "Password",
		"remember": "Remember me", "login": "Log in", "register": "Create an account", "forgot": "Forgot your password?",
		"cancel": "Cancel", "createTitle": "Create account or log in",
		"createIntro": "Enter your e-mail address or mobile number. We will send you a one-time code.",
		"continue":    "Continue", "haveAccount": "I already have an account and a password",
		"codeSent": "We sent a one-time code to", "code": "One-time code", "mailbox": "Open the demo mailbox",
		"startOver": "Start over", "newAccount": "Choose a password for your new account for",
		"firstName": "First name", "lastName": "Last name", "newPassword": "New password (at least 8 characters)",
		"createAccount": "Create account", "resetTitle": "Reset password",
		"resetIntro": "Enter the e-mail address or mobile number of your account. We will send you a code.",
		"sendCode":   "Send code", "resetSent": "If an account exists for that address, we have sent it a code. Enter it with your new password.",
		"setPassword": "Set password", "backToLogin": "Back to log in", "accountTitle": "Your account", "userId": "User id",
		"notVerified": "not verified", "save": "Save", "currentPassword": "Current password", "logout": "Log out",
		"mailboxTitle": "Demo mailbox", "mailboxIntro": "Messages the server would have sent by e-mail or SMS (demo mode only).",
		"to": "To", "message": "Message", "empty": "No messages yet.", "errorTitle": "Something went wrong",
		"loggedOut": "You are logged out.", "saved": "Saved.", "passwordChanged": "Your password was changed.",
		"badRequest": "This link is not valid: %s", "csrf": "The form expired. Please try again.",
		"wrongCurrent": "The current password is wrong.", "email": "E-mail", "phone": "Mobile", "external": "External id",
		"loggedInAs": "You are logged in.",
	},
	"nb": {
		"loginTitle": "Logg inn", "credential": "E-postadresse eller mobilnummer", "password": "Passord",
		"remember": "Husk meg", "login": "Logg inn", "register": "Opprett konto", "forgot": "Glemt passordet?",
		"cancel": "Avbryt", "createTitle": "Opprett konto eller logg inn",
		"createIntro": "Skriv e-postadressen eller mobilnummeret ditt. Vi sender deg en engangskode.",
		"continue":    "Fortsett", "haveAccount": "Jeg har allerede konto og passord",
		"codeSent": "Vi har sendt en engangskode til", "code": "Engangskode", "mailbox": "Åpne demo-postkassen",
		"startOver": "Begynn på nytt", "newAccount": "Velg passord for den nye kontoen din for",
		"firstName": "Fornavn", "lastName": "Etternavn", "newPassword": "Nytt passord (minst 8 tegn)",
		"createAccount": "Opprett konto", "resetTitle": "Nytt passord",
		"resetIntro": "Skriv e-postadressen eller mobilnummeret til kontoen din. Vi sender deg en kode.",
		"sendCode":   "Send kode", "resetSent": "Hvis det finnes en konto for adressen, har vi sendt en kode dit. Skriv den inn sammen med nytt passord.",
		"setPassword": "Lagre passord", "backToLogin": "Tilbake til innlogging", "accountTitle": "Kontoen din", "userId": "Bruker-id",
		"notVerified": "ikke bekreftet", "save": "Lagre", "currentPassword": "Nåværende passord", "logout": "Logg ut",
		"mailboxTitle": "Demo-postkasse", "mailboxIntro": "Meldinger serveren ville ha sendt på e-post eller SMS (bare i demomodus).",
		"to": "Til", "message": "Melding", "empty": "Ingen meldinger ennå.", "errorTitle": "Noe gikk galt",
		"loggedOut": "Du er logget ut.", "saved": "Lagret.", "passwordChanged": "Passordet ditt er endret.",
		"badRequest": "Lenken er ikke gyldig: %s", "csrf": "Skjemaet er utløpt. Prøv igjen.",
		"wrongCurrent": "Nåværende passord er feil.", "email": "E-post", "phone": "Mobil", "external": "Ekstern id",
		"loggedInAs": "Du er logget inn.",
	},
}

// language picks nb or en from Accept-Language (q-values honoured); no,
// nn and nb all mean Norwegian; anything else is English.
func language(header string) string {
	type pref struct {
		lang string
		q    float64
		i    int
	}
	var prefs []pref
	for i, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		switch base {
		case "nb", "no", "nn":
			prefs = append(prefs, pref{"nb", q, i})
		case "en":
			prefs = append(prefs, pref{"en", q, i})
		}
	}
	sort.SliceStable(prefs, func(a, b int) bool { return prefs[a].q > prefs[b].q })
	if len(prefs) > 0 && prefs[0].q > 0 {
		return prefs[0].lang
	}
	return "en"
}
