package accounts

// Refused is a sign-in from elsewhere (SSO, OAuth, OpenID Connect) that is
// turned away: Untrusted when it may be forged, replayed, expired or was
// denied (403), otherwise malformed (400). Code is stable for logs and the API;
// Message is safe to show and never echoes the payload.
type Refused struct {
	Code      string
	Message   string
	Untrusted bool
}

func (e *Refused) Error() string { return e.Message }

func malformed(code, msg string) *Refused { return &Refused{Code: code, Message: msg} }
func untrusted(code, msg string) *Refused { return &Refused{Code: code, Message: msg, Untrusted: true} }
