#!/usr/bin/env bash
# Installs the local test servers into the git-ignored .tools/ folder, pinned,
# so a fresh machine (a developer's or CI's) gets the same ones; safe to re-run.
# KMS: local-kms (Go module proxy) -- it really creates ECC_NIST_P256 SIGN_VERIFY
# keys and honours MessageType DIGEST, which moto 5.2.5 does not (it hashes the
# digest again). Its own main binds every interface, so we build a ten-line
# main around its exported request handler that binds loopback and exits when
# its parent's stdin pipe closes (no orphan emulator if a test run is killed).
# DynamoDB Local: the jar ships in the npm package amplify-dynamodb-simulator;
# it needs only Java.
set -euo pipefail

LOCAL_KMS_MODULE="github.com/nsmithuk/local-kms"
LOCAL_KMS_VERSION="v0.0.0-20260228092603-2a5e92d09ab6"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
src="$tools/src/local-kms-loopback"
bin="$tools/bin/local-kms"
stamp="$tools/bin/local-kms.stamp"

main_go="$(cat <<'GO'
// Loopback-only launcher for local-kms: same request handler, own listener.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	localkms "github.com/nsmithuk/local-kms/src"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	dataPath := flag.String("data", "", "LevelDB directory (required)")
	account := flag.String("account", "111122223333", "account id used in key ARNs")
	region := flag.String("region", "eu-west-2", "region used in key ARNs")
	watchStdin := flag.Bool("exit-on-stdin-eof", false, "exit when standard input closes")
	flag.Parse()
	if *dataPath == "" {
		fmt.Fprintln(os.Stderr, "local-kms: -data is required")
		os.Exit(2)
	}
	config.AWSAccountId = *account
	config.AWSRegion = *region
	config.DatabasePath = *dataPath
	db := data.NewDatabase(*dataPath)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local-kms:", err)
		os.Exit(1)
	}
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGINT, syscall.SIGTERM)
	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			quit <- syscall.SIGTERM
		}()
	}
	go func() {
		<-quit
		_ = ln.Close()
		db.Close()
		os.Exit(0)
	}()
	fmt.Printf("local-kms listening on http://%s\n", ln.Addr())
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		localkms.HandleRequest(w, r, db)
	}))
}
GO
)"

want_stamp="$LOCAL_KMS_MODULE@$LOCAL_KMS_VERSION $(printf '%s' "$main_go" | sha256sum | cut -c1-16)"

if ! command -v go >/dev/null 2>&1; then
  echo "install-test-servers: Go (>= 1.20) is missing: install it (e.g. apt-get install -y golang) to build the KMS emulator" >&2
  exit 1
fi

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" ]]; then
  echo "local-kms $LOCAL_KMS_VERSION already installed at .tools/bin/local-kms"
else
  echo "building local-kms $LOCAL_KMS_VERSION into .tools/bin/local-kms"
  rm -rf "$src"
  mkdir -p "$src" "$tools/bin"
  printf '%s\n' "$main_go" >"$src/main.go"
  printf 'module carkeys.local/local-kms-loopback\n\ngo 1.20\n' >"$src/go.mod"
  (
    cd "$src"
    # The machine's own Go builds it; never fetch another toolchain.
    export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
    go get "$LOCAL_KMS_MODULE@$LOCAL_KMS_VERSION"
    go build -trimpath -o "$bin.tmp" .
  )
  mv -f "$bin.tmp" "$bin"
  printf '%s\n' "$want_stamp" >"$stamp"
  echo "local-kms installed"
fi

java_bin="java"
[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && java_bin="$JAVA_HOME/bin/java"
if ! java_version="$("$java_bin" -version 2>&1 | head -n 1)"; then
  echo "install-test-servers: Java 17 is missing (DynamoDB Local needs it): apt-get install -y openjdk-17-jre-headless" >&2
  exit 1
fi
echo "java for DynamoDB Local: $java_version"

jar="$root/node_modules/amplify-dynamodb-simulator/emulator/DynamoDBLocal.jar"
if [[ ! -f "$jar" ]]; then
  echo "note: $jar not found yet; it comes with 'npm ci'"
fi
