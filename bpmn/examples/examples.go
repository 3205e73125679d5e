// Package examples holds the example processes bundled with the connector: `dev` deploys them,
// the end-to-end tests run each of them, and modelers copy them as starting points.
package examples

import "embed"

// FS holds every example (*.bpmn).
//
//go:embed *.bpmn
var FS embed.FS
