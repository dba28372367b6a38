package taskline

// What the tests that need a live Taskline server share. The server's URL comes from
// TASKLINE_SERVER and an admin key from TASKLINE_API_KEY; tests/clients/test_go.py starts
// one (see README.md, "Tests"). A test without them fails: nothing is skipped.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

func serverURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("TASKLINE_SERVER")
	if url == "" {
		t.Fatal("TASKLINE_SERVER is not set: this test runs against a live Taskline server (README.md, Tests)")
	}
	return url
}

func requireEnv(t *testing.T, name string) string {
	t.Helper()
	value := os.Getenv(name)
	if value == "" {
		t.Fatalf("%s is not set (README.md, Tests)", name)
	}
	return value
}

// liveClient is a client of the live server with its admin key.
func liveClient(t *testing.T) *Client {
	t.Helper()
	return NewClient(serverURL(t), WithAPIKey(requireEnv(t, "TASKLINE_API_KEY")))
}

// testContext ends with the test, or after a minute.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// uniqueName keeps each test's queue (and so its tasks and workers) its own.
func uniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// must(call())(t) is call's value, or the test failed with its error.
func must[T any](value T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return value
	}
}

// noErr(err)(t) fails the test with err, if any.
func noErr(err error) func(*testing.T) {
	return func(t *testing.T) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// wantCode fails the test unless err is an *Error with this status and code.
func wantCode(t *testing.T, err error, status int, code string) *Error {
	t.Helper()
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want a %d %s *Error, got %v", status, code, err)
	}
	if apiErr.Status != status || apiErr.Code != code {
		t.Fatalf("want %d %s, got %d %s: %s", status, code, apiErr.Status, apiErr.Code, apiErr.Message)
	}
	return apiErr
}

// admin GETs an /admin route with the admin key; the status and decoded body.
func admin(t *testing.T, path string) (int, map[string]any) {
	t.Helper()
	request := must(http.NewRequest("GET", serverURL(t)+path, nil))(t)
	request.Header.Set("Authorization", "Bearer "+requireEnv(t, "TASKLINE_API_KEY"))
	response := must(http.DefaultClient.Do(request))(t)
	defer response.Body.Close()
	var body map[string]any
	_ = json.Unmarshal(must(io.ReadAll(response.Body))(t), &body)
	return response.StatusCode, body
}

// adminPost POSTs to an /admin route with the admin key, and fails the test unless it is a 200.
func adminPost(t *testing.T, path string) {
	t.Helper()
	request := must(http.NewRequest("POST", serverURL(t)+path, nil))(t)
	request.Header.Set("Authorization", "Bearer "+requireEnv(t, "TASKLINE_API_KEY"))
	response := must(http.DefaultClient.Do(request))(t)
	response.Body.Close()
	if response.StatusCode != 200 {
		t.Fatalf("POST %s: %d", path, response.StatusCode)
	}
}

// eventually asks condition until it holds: for state another process changes, which
// nothing announces. The pause only paces the asking.
func eventually(t *testing.T, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
