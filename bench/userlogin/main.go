// Command userlogin logs a user in through ConnectID's real pages (authorize →
// login form → code → token, with PKCE) and prints the user access token, for
// load targets that need a user-mode token. Loopback only, like bench/load.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
)

var hidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

func main() {
	base := flag.String("base", "http://127.0.0.1:18080", "server base URL")
	clientID := flag.String("client-id", "demo.web", "confidential client")
	secret := flag.String("client-secret", "demo-secret", "client secret")
	user := flag.String("user", "demo@example.com", "credential")
	password := flag.String("password", "demo-password", "password")
	redirect := flag.String("redirect", "http://localhost:3000/callback", "registered redirect_uri")
	flag.Parse()
	tok, err := login(*base, *clientID, *secret, *user, *password, *redirect)
	if err != nil {
		fmt.Fprintln(os.Stderr, "userlogin:", err)
		os.Exit(1)
	}
	fmt.Println(tok)
}

func login(base, clientID, secret, user, password, redirect string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1") {
		return "", errors.New("-base must be a loopback URL")
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var b [32]byte
	_, _ = rand.Read(b[:])
	verifier := base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "state": {"bench-state"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	res, err := c.Get(base + "/user/oauth/authorize?" + q.Encode())
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	form := url.Values{}
	for _, m := range hidden.FindAllSubmatch(body, -1) {
		form.Set(string(m[1]), html.UnescapeString(string(m[2])))
	}
	form.Set("j_username", user)
	form.Set("j_password", password)
	res, err = c.PostForm(base+"/user/oauthLogin", form)
	if err != nil {
		return "", err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		return "", fmt.Errorf("login answered %d", res.StatusCode)
	}
	res, err = c.Get(base + res.Header.Get("Location"))
	if err != nil {
		return "", err
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return "", fmt.Errorf("authorize answered %d without a code", res.StatusCode)
	}
	tf := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", base+"/user/oauth/token", strings.NewReader(tf.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	res, err = c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %d", res.StatusCode)
	}
	return t.AccessToken, nil
}
