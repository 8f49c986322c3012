// Command usertoken prints a user-mode access token for a customer of a
// benchmark database (generated customers have no ConnectID user), signed
// with the server's current key. For benchmarks only.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/connect-oss/connect/internal/oauth"
	"github.com/connect-oss/connect/internal/store"
	"github.com/connect-oss/connect/internal/tenant"
)

func main() {
	dsn := flag.String("db", "", "database URL of the running server")
	issuer := flag.String("issuer", "http://127.0.0.1:18080/user", "the server's token issuer (public URL + /user)")
	company := flag.String("company", "DEMO", "company code")
	client := flag.String("client", "demo.web", "client id the token is issued to")
	customer := flag.Int64("customer", 0, "customer number")
	flag.Parse()
	if err := run(*dsn, *issuer, *company, *client, *customer); err != nil {
		fmt.Fprintln(os.Stderr, "usertoken:", err)
		os.Exit(1)
	}
}

func run(dsn, issuer, companyCode, client string, customer int64) error {
	if dsn == "" || customer <= 0 {
		return fmt.Errorf("-db and -customer are required")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := oauth.LoadKeys(ctx, db)
	if err != nil {
		return err
	}
	key, err := keys.Current()
	if err != nil {
		return err
	}
	co, err := tenant.GetCompanyByCode(ctx, db, companyCode)
	if err != nil {
		return err
	}
	token, err := oauth.MintUserToken(key, oauth.UserTokenClaims{
		Issuer: strings.TrimSuffix(issuer, "/"), CompanyID: co.ID, CompanyCode: co.Code, ClientID: client,
		UniqueID: fmt.Sprintf("%032x", customer), CustomerNumber: customer, TTL: 2 * time.Hour,
	})
	if err != nil {
		return err
	}
	fmt.Println(token)
	return nil
}
