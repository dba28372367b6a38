package taskline

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Task states (SPEC §2).
const (
	StatePending   = "pending"
	StateScheduled = "scheduled"
	StateRunning   = "running"
	StateRetrying  = "retrying"
	StateCompleted = "completed"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Priorities (SPEC §1); responses hold the number.
const (
	PriorityLow      = 0
	PriorityNormal   = 1
	PriorityHigh     = 2
	PriorityCritical = 3
)

// Task is a task as the server sends it (SPEC §1). Payload and Result are the raw JSON;
// DecodePayload and DecodeResult read them into a value. Nullable fields are pointers.
type Task struct {
	ID              string          `json:"id"`
	Type            string          `json:"type"`
	Queue           string          `json:"queue"`
	Payload         json.RawMessage `json:"payload"`
	Priority        int             `json:"priority"`
	MaxRetries      int             `json:"max_retries"`
	Timeout         float64         `json:"timeout"` // seconds
	ScheduledAt     *time.Time      `json:"scheduled_at"`
	UniqueKey       *string         `json:"unique_key"`
	UniqueTTL       int             `json:"unique_ttl"` // seconds
	Metadata        map[string]any  `json:"metadata"`
	Webhook         *string         `json:"webhook"`
	State           string          `json:"state"`
	Attempts        int             `json:"attempts"`
	Result          json.RawMessage `json:"result"`
	Error           *string         `json:"error"`
	Errors          []AttemptError  `json:"errors"`
	Progress        *float64        `json:"progress"`
	WorkerID        *string         `json:"worker_id"`
	CancelRequested bool            `json:"cancel_requested"`
	WebhookStatus   *WebhookStatus  `json:"webhook_status"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	StartedAt       *time.Time      `json:"started_at"`
	CompletedAt     *time.Time      `json:"completed_at"`
}

// AttemptError is one failed attempt's error.
type AttemptError struct {
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
	At      time.Time `json:"at"`
}

// WebhookStatus is where the delivery of a task's webhook stands (SPEC §6).
type WebhookStatus struct {
	State      string  `json:"state"` // pending, delivered, failed
	Attempts   int     `json:"attempts"`
	LastStatus *int    `json:"last_status"`
	LastError  *string `json:"last_error"`
}

// Terminal reports whether the task is completed, failed or cancelled.
func (t *Task) Terminal() bool {
	return t.State == StateCompleted || t.State == StateFailed || t.State == StateCancelled
}

// DecodePayload unmarshals the task's payload into v.
func (t *Task) DecodePayload(v any) error { return decodeRaw(t.Payload, v, "payload") }

// DecodeResult unmarshals the task's result into v.
func (t *Task) DecodeResult(v any) error { return decodeRaw(t.Result, v, "result") }

func decodeRaw(raw json.RawMessage, v any, what string) error {
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("taskline: decoding the %s: %w", what, err)
	}
	return nil
}

// LeasedTask is a task a worker holds, with the lease that lets it report (SPEC §2).
type LeasedTask struct {
	Task
	Lease Lease `json:"lease"`
}

// Lease is a worker's hold on a running task: Token fences its reports.
type Lease struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// TaskPage is one page of a listing; NextCursor is "" on the last page.
type TaskPage struct {
	Tasks      []*Task
	NextCursor string
}

// Stats is GET /api/v1/stats: tasks per state, the total, workers seen in the last minute.
type Stats struct {
	States  map[string]int `json:"states"`
	Total   int            `json:"total"`
	Workers int            `json:"workers"`
}

// QueueStats is one queue of GET /api/v1/queues.
type QueueStats struct {
	Name      string         `json:"name"`
	Paused    bool           `json:"paused"`
	Pending   map[string]int `json:"pending"` // by priority name
	Scheduled int            `json:"scheduled"`
	Running   int            `json:"running"`
	Retrying  int            `json:"retrying"`
	Failed    int            `json:"failed"`
	Completed int            `json:"completed"`
	Cancelled int            `json:"cancelled"`
}

// TaskOption sets one optional field of a submit (SPEC §1). The server validates every
// value; a field left unset takes the server's default.
type TaskOption func(*taskSpec)

// TaskSpec is one task of SubmitBulk; build it with Spec.
type TaskSpec struct {
	Type    string
	Payload any
	Options []TaskOption
}

// Spec describes one task for SubmitBulk.
func Spec(taskType string, payload any, opts ...TaskOption) TaskSpec {
	return TaskSpec{Type: taskType, Payload: payload, Options: opts}
}

type taskSpec struct {
	fields         map[string]any
	idempotencyKey *string
}

// Queue sets the queue (default "default").
func Queue(name string) TaskOption { return field("queue", name) }

// Priority sets the priority: PriorityLow..PriorityCritical (default PriorityNormal).
func Priority(p int) TaskOption { return field("priority", p) }

// MaxRetries sets the retries after the first attempt (default 3).
func MaxRetries(n int) TaskOption { return field("max_retries", n) }

// Timeout sets how long one attempt may run (default 5 minutes).
func Timeout(d time.Duration) TaskOption { return field("timeout", d.Seconds()) }

// ScheduledAt makes the task run not before t (exclusive with Delay).
func ScheduledAt(t time.Time) TaskOption { return field("scheduled_at", t.Format(time.RFC3339Nano)) }

// Delay makes the task run d from now (exclusive with ScheduledAt).
func Delay(d time.Duration) TaskOption { return field("delay", d.Seconds()) }

// UniqueKey makes the submit idempotent within the queue: while a task with this key is
// not terminal, and until UniqueTTL after its submit, a submit returns that task.
func UniqueKey(key string) TaskOption { return field("unique_key", key) }

// UniqueTTL sets how long a unique key holds after the submit (default a day); the server
// takes whole seconds, and refuses anything else.
func UniqueTTL(d time.Duration) TaskOption { return field("unique_ttl", wholeSeconds(d)) }

// Metadata sets free-form metadata.
func Metadata(m map[string]any) TaskOption { return field("metadata", m) }

// Webhook sets the http(s) URL POSTed when the task reaches a terminal state (SPEC §6).
func Webhook(url string) TaskOption { return field("webhook", url) }

// IdempotencyKey sends the Idempotency-Key header: it acts as the unique key, and the same
// key with a different body is a 409 idempotency_conflict. Submit only: a bulk submit is
// one request, so SubmitBulk refuses it (use UniqueKey there).
func IdempotencyKey(key string) TaskOption {
	return func(s *taskSpec) { s.idempotencyKey = &key }
}

func field(name string, value any) TaskOption {
	return func(s *taskSpec) { s.fields[name] = value }
}

// wholeSeconds is d in seconds: an integer when it is one, so the server's integer fields
// take it, else the fraction, which the server refuses with a 422 naming the field.
func wholeSeconds(d time.Duration) any {
	if seconds := d.Seconds(); seconds != math.Trunc(seconds) {
		return seconds
	}
	return int64(d / time.Second)
}

var errIdempotencyInBulk = errors.New("taskline: IdempotencyKey applies to Submit only; give each bulk item a UniqueKey")

func buildSpec(taskType string, payload any, opts []TaskOption) *taskSpec {
	spec := &taskSpec{fields: map[string]any{"type": taskType}}
	if payload != nil {
		spec.fields["payload"] = payload
	}
	for _, opt := range opts {
		opt(spec)
	}
	return spec
}
