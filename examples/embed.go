// Package examples embeds the demo tenant so `connect demo` and
// `connect serve --demo` work from any directory.
package examples

import _ "embed"

// DemoTenant is examples/demo-tenant.yaml.
//
//go:embed demo-tenant.yaml
var DemoTenant []byte
