// Command bare is the reference server for the benchmarks in bench/: a bare
// net/http handler that answers every request with a fixed small JSON body.
// Performance targets (DESIGN.md §7a) are ratios to this server measured in
// the same run on the same machine.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
)

var body = []byte(`{"status":"ok","products":[]}`)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	flag.Parse()

	contentLength := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", contentLength)
		_, _ = w.Write(body)
	})
	log.Printf("bare: listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}
