// Package taskline is a Go client for a Taskline server: submit and manage tasks
// (Client), run them (Worker), and follow what happens (Client.Events over /ws). It speaks
// the HTTP API of SPEC §3 and uses only the standard library.
//
// Every call takes a context.Context first: its deadline or cancellation ends the call.
// An error response of the server comes back as an *Error (errors.As); a server that could
// not be reached as the transport's own error, wrapped.
package taskline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Version is this client's version, sent in its User-Agent.
const Version = "0.1.0"

// Client submits, reads and manages tasks on one Taskline server. It is safe for
// concurrent use.
type Client struct {
	base    string
	apiKey  string
	http    *http.Client
	retries int
	maxWait time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sends key as "Authorization: Bearer <key>" (SPEC §4); "" sends none.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithHTTPClient replaces the http.Client (its Timeout must outlast a worker's long polls,
// up to a minute; the default has none and lets each call's context decide).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithRetries sets how many times a 429 rate_limited or 503 queue_full is sent again
// after waiting its Retry-After (default 3); a Retry-After over 30 s is returned at once.
func WithRetries(n int) Option { return func(c *Client) { c.retries = n } }

// NewClient is a client of the server at baseURL ("http://127.0.0.1:8080").
func NewClient(baseURL string, opts ...Option) *Client {
	// A worker holds a long poll, heartbeats and reports at once: keep that many connections
	// alive, not net/http's default two per host.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 100
	c := &Client{
		base:    strings.TrimRight(baseURL, "/"),
		http:    &http.Client{Transport: transport},
		retries: 3,
		maxWait: 30 * time.Second,
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Submit submits one task (POST /api/v1/tasks). A nil payload sends none: the server's
// default is {}. With a UniqueKey or IdempotencyKey that names a live task, that task.
func (c *Client) Submit(ctx context.Context, taskType string, payload any, opts ...TaskOption) (*Task, error) {
	spec := buildSpec(taskType, payload, opts)
	var header http.Header
	if spec.idempotencyKey != nil {
		header = http.Header{"Idempotency-Key": {*spec.idempotencyKey}}
	}
	var task Task
	if err := c.call(ctx, "POST", "/api/v1/tasks", nil, spec.fields, header, &task); err != nil {
		return nil, err
	}
	return &task, nil
}

// SubmitBulk submits 1-1000 tasks all or nothing (POST /api/v1/tasks/bulk); the tasks come
// back in the order given. A 422 names each refused item's index in Error.Details.
func (c *Client) SubmitBulk(ctx context.Context, specs []TaskSpec) ([]*Task, error) {
	items := make([]map[string]any, len(specs))
	for i, s := range specs {
		spec := buildSpec(s.Type, s.Payload, s.Options)
		if spec.idempotencyKey != nil {
			return nil, errIdempotencyInBulk
		}
		items[i] = spec.fields
	}
	var answer struct {
		Tasks []*Task `json:"tasks"`
	}
	if err := c.call(ctx, "POST", "/api/v1/tasks/bulk", nil, items, nil, &answer); err != nil {
		return nil, err
	}
	return answer.Tasks, nil
}

// Get reads one task.
func (c *Client) Get(ctx context.Context, id string) (*Task, error) {
	var task Task
	if err := c.call(ctx, "GET", "/api/v1/tasks/"+url.PathEscape(id), nil, nil, nil, &task); err != nil {
		return nil, err
	}
	return &task, nil
}

// ListOptions filters a listing; zero values leave a filter out.
type ListOptions struct {
	State  string
	Type   string
	Queue  string
	Limit  int    // 1-500; 0: the server's default, 50
	Cursor string // a page's NextCursor, for the page after it
	Source string // "history": PostgreSQL history (TASKLINE_POSTGRES_URL); "": the live backend
}

// List reads one page of tasks, newest first; pass its NextCursor as Cursor for the next.
func (c *Client) List(ctx context.Context, opts ListOptions) (*TaskPage, error) {
	query := url.Values{}
	for name, value := range map[string]string{
		"state": opts.State, "type": opts.Type, "queue": opts.Queue, "cursor": opts.Cursor, "source": opts.Source,
	} {
		if value != "" {
			query.Set(name, value)
		}
	}
	if opts.Limit != 0 {
		query.Set("limit", strconv.Itoa(opts.Limit))
	}
	var answer struct {
		Tasks      []*Task `json:"tasks"`
		NextCursor *string `json:"next_cursor"`
	}
	if err := c.call(ctx, "GET", "/api/v1/tasks", query, nil, nil, &answer); err != nil {
		return nil, err
	}
	page := &TaskPage{Tasks: answer.Tasks}
	if answer.NextCursor != nil {
		page.NextCursor = *answer.NextCursor
	}
	return page, nil
}

// Cancel cancels a task (SPEC §2): at once unless it is running, when it gets
// cancel_requested and ends when its worker stops; a 409 if it is terminal.
func (c *Client) Cancel(ctx context.Context, id string) (*Task, error) {
	var task Task
	if err := c.call(ctx, "DELETE", "/api/v1/tasks/"+url.PathEscape(id), nil, nil, nil, &task); err != nil {
		return nil, err
	}
	return &task, nil
}

// Retry runs a failed or cancelled task again, with its payload.
func (c *Client) Retry(ctx context.Context, id string) (*Task, error) {
	return c.retry(ctx, id, nil)
}

// RetryWithPayload runs a failed or cancelled task again with payload in place of its own.
func (c *Client) RetryWithPayload(ctx context.Context, id string, payload any) (*Task, error) {
	return c.retry(ctx, id, map[string]any{"payload": payload})
}

func (c *Client) retry(ctx context.Context, id string, body any) (*Task, error) {
	var task Task
	if err := c.call(ctx, "POST", "/api/v1/tasks/"+url.PathEscape(id)+"/retry", nil, body, nil, &task); err != nil {
		return nil, err
	}
	return &task, nil
}

// Wait reads the task until it is completed, failed or cancelled, looking often at first
// and at most once a second later. When ctx ends first it returns the task as last seen
// (nil if never) and ctx's error.
func (c *Client) Wait(ctx context.Context, id string) (*Task, error) {
	pause := 50 * time.Millisecond
	var last *Task
	for {
		task, err := c.Get(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return last, ctx.Err()
			}
			return last, err
		}
		last = task
		if task.Terminal() {
			return task, nil
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return last, ctx.Err()
		case <-timer.C:
		}
		if pause = pause * 3 / 2; pause > time.Second {
			pause = time.Second
		}
	}
}

// Stats reads the count of tasks per state and of workers.
func (c *Client) Stats(ctx context.Context) (*Stats, error) {
	var stats Stats
	if err := c.call(ctx, "GET", "/api/v1/stats", nil, nil, nil, &stats); err != nil {
		return nil, err
	}
	return &stats, nil
}

// Queues reads every queue's depth and state counts.
func (c *Client) Queues(ctx context.Context) ([]QueueStats, error) {
	var answer struct {
		Queues []QueueStats `json:"queues"`
	}
	if err := c.call(ctx, "GET", "/api/v1/queues", nil, nil, nil, &answer); err != nil {
		return nil, err
	}
	return answer.Queues, nil
}

// call sends one request, again after Retry-After when the server says to come back
// (see WithRetries), and decodes a JSON answer into out (nil: ignored). An empty answer
// (a 204) leaves out as it is.
func (c *Client) call(
	ctx context.Context, method, path string, query url.Values, body any, header http.Header, out any,
) error {
	var encoded []byte
	if body != nil {
		var err error
		if encoded, err = json.Marshal(body); err != nil {
			return fmt.Errorf("taskline: encoding the request: %w", err)
		}
	}
	for attempt := 0; ; attempt++ {
		err := c.send(ctx, method, path, query, encoded, header, out)
		wait, again := retryable(err, c.maxWait)
		if !again || attempt >= c.retries {
			return err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
}

func (c *Client) send(
	ctx context.Context, method, path string, query url.Values, body []byte, header http.Header, out any,
) error {
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	request, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return fmt.Errorf("taskline: %w", err)
	}
	for name, values := range header {
		request.Header[name] = values
	}
	request.Header.Set("User-Agent", "taskline-go/"+Version)
	request.Header.Set("Accept", "application/json")
	if body != nil {
		request.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		request.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	response, err := c.http.Do(request)
	if err != nil {
		return fmt.Errorf("taskline: %s %s: %w", method, path, err)
	}
	defer response.Body.Close()
	content, err := io.ReadAll(response.Body)
	if err != nil {
		return fmt.Errorf("taskline: %s %s: reading the answer: %w", method, path, err)
	}
	if response.StatusCode >= 400 {
		return errorFromResponse(response.StatusCode, content, response.Header.Get("Retry-After"))
	}
	if out == nil || len(content) == 0 {
		return nil
	}
	if err := json.Unmarshal(content, out); err != nil {
		return fmt.Errorf("taskline: %s %s: reading the answer: %w", method, path, err)
	}
	return nil
}
