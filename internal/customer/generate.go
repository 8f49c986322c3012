// Package customer owns customers: a person's or organisation's record at one
// company. This file generates synthetic customers for benchmarks.
package customer

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/connect-oss/connect/internal/store"
)

// ReserveNumbers hands out n consecutive customer numbers of the company
// inside tx and returns the first. Numbers start at 100001.
func ReserveNumbers(ctx context.Context, tx *sql.Tx, companyID int64, n int64) (int64, error) {
	var last int64
	err := tx.QueryRowContext(ctx, `INSERT INTO customer_number_seq (company_id, last_value) VALUES ($1, $2)
		ON CONFLICT (company_id) DO UPDATE SET last_value = customer_number_seq.last_value + $3
		RETURNING last_value`, companyID, 100000+n, n).Scan(&last)
	if err != nil {
		return 0, store.Translate(err)
	}
	return last - n + 1, nil
}

var firstNames = []string{"Ola", "Kari", "Nora", "Jakob", "Emma", "Lars", "Ingrid", "Henrik", "Sofie", "Magnus", "Astrid", "Sven"}
var lastNames = []string{"Nordmann", "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsson", "Berg", "Haugen"}

// Generate creates n synthetic customers for the company with the given code,
// in batches (COPY on PostgreSQL), and returns how many it created.
// One million takes about a minute on PostgreSQL.
func Generate(ctx context.Context, db *store.DB, companyCode string, n int) (int, error) {
	var companyID int64
	if err := db.QueryRowContext(ctx, `SELECT id FROM companies WHERE code = $1`, companyCode).Scan(&companyID); err != nil {
		return 0, fmt.Errorf("company %s: %w", companyCode, store.Translate(err))
	}
	const batch = 20000
	now := time.Now().UnixMilli()
	// The search columns (search_*) must be filled like Create fills them, or
	// the generated customers would not be found by name.
	cols := []string{"company_id", "customer_number", "first_name", "last_name", "email", "phone", "postal_code",
		"search_first", "search_last", "country_code", "created_at", "updated_at"}
	row := func(num int64) []any {
		fn, ln := firstNames[num%int64(len(firstNames))], lastNames[(num/7)%int64(len(lastNames))]
		return []any{companyID, num, fn, ln,
			strings.ToLower(fn) + "." + strconv.FormatInt(num, 10) + "@example.com",
			"+47" + strconv.FormatInt(40000000+num%10000000, 10),
			fmt.Sprintf("%04d", num%9000+1000), Fold(fn), Fold(ln), "NO", now, now}
	}
	done := 0
	for done < n {
		size := min(batch, n-done)
		var err error
		if db.Dialect == store.Postgres {
			err = copyBatch(ctx, db, companyID, cols, size, row)
		} else {
			err = db.Tx(ctx, func(tx *sql.Tx) error {
				first, err := ReserveNumbers(ctx, tx, companyID, int64(size))
				if err != nil {
					return err
				}
				return insertRows(ctx, tx, cols, first, size, row)
			})
		}
		if err != nil {
			return done, err
		}
		done += size
	}
	return done, nil
}

// copyBatch reserves numbers and streams one batch with PostgreSQL's COPY, in
// one pgx transaction on a connection taken from the pool.
func copyBatch(ctx context.Context, db *store.DB, companyID int64, cols []string, n int, row func(int64) []any) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		pc := driverConn.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		var last int64
		if err := tx.QueryRow(ctx, `INSERT INTO customer_number_seq (company_id, last_value) VALUES ($1, $2)
			ON CONFLICT (company_id) DO UPDATE SET last_value = customer_number_seq.last_value + $3
			RETURNING last_value`, companyID, 100000+int64(n), int64(n)).Scan(&last); err != nil {
			return err
		}
		first := last - int64(n) + 1
		i := int64(0)
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i >= int64(n) {
				return nil, nil
			}
			i++
			return row(first + i - 1), nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"customers"}, cols, src); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// insertRows inserts with multi-row INSERT statements (SQLite).
func insertRows(ctx context.Context, tx *sql.Tx, cols []string, first int64, n int, row func(int64) []any) error {
	const per = 75 // 12 columns × 75 rows stays under SQLite's variable limit
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		var sb strings.Builder
		sb.WriteString("INSERT INTO customers (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, (end-start)*len(cols))
		for i := start; i < end; i++ {
			if i > start {
				sb.WriteString(", ")
			}
			sb.WriteString("(")
			for c := range cols {
				if c > 0 {
					sb.WriteString(", ")
				}
				args = append(args, nil)
				sb.WriteString("$" + strconv.Itoa(len(args)))
			}
			sb.WriteString(")")
			copy(args[len(args)-len(cols):], row(first+int64(i)))
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	return nil
}
