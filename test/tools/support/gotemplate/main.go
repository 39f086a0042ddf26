// Renders stdin with Go's text/template, the engine Helm renders chart templates with, and prints
// the result: the tools tier checks that what the library escapes for Delivery.helm() renders back
// to the exact text. Helm adds sprig's functions and its own (include, tpl, ...), which escaped
// text does not call; missingkey=error is Helm's strict mode. Standard library only: `go run main.go`.
package main

import (
	"fmt"
	"io"
	"os"
	"text/template"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "read stdin:", err)
		os.Exit(2)
	}
	t, err := template.New("templates/chart.k8s.yaml").Option("missingkey=error").Parse(string(in))
	if err != nil {
		fmt.Fprintln(os.Stderr, "parse:", err)
		os.Exit(1)
	}
	// The values Helm passes (.Values, .Release, ...): none is needed, so an empty map.
	if err := t.Execute(os.Stdout, map[string]interface{}{}); err != nil {
		fmt.Fprintln(os.Stderr, "execute:", err)
		os.Exit(1)
	}
}
