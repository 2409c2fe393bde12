//go:build tools

// Keeps the emulator's command in go.mod/go.sum so `go mod tidy` does not drop it.
package tools

import _ "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
