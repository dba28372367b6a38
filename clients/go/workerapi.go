package taskline

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The external-worker routes of SPEC §3, for a program that runs tasks its own way; Worker
// is built on them.

// PollOptions says what a poll may lease.
type PollOptions struct {
	WorkerID string        // required
	Queues   []string      // nil: any queue
	Types    []string      // nil: any type
	Wait     time.Duration // how long the server waits for a task (0-60 s)
	Max      int           // 1-100; 0: 1
}

// Poll leases up to Max tasks, waiting up to Wait for the first (GET /api/v1/poll); none
// when nothing came. ctx must outlast Wait.
func (c *Client) Poll(ctx context.Context, opts PollOptions) ([]*LeasedTask, error) {
	query := url.Values{"worker_id": {opts.WorkerID}}
	if len(opts.Queues) > 0 {
		query.Set("queues", strings.Join(opts.Queues, ","))
	}
	if len(opts.Types) > 0 {
		query.Set("types", strings.Join(opts.Types, ","))
	}
	if opts.Wait > 0 {
		query.Set("wait", strconv.FormatFloat(opts.Wait.Seconds(), 'f', -1, 64))
	}
	if opts.Max > 0 {
		query.Set("max", strconv.Itoa(opts.Max))
	}
	var answer struct {
		Tasks []*LeasedTask `json:"tasks"`
	}
	if err := c.call(ctx, "GET", "/api/v1/poll", query, nil, nil, &answer); err != nil {
		return nil, err
	}
	return answer.Tasks, nil
}

// HeartbeatAck is the answer to a task heartbeat.
type HeartbeatAck struct {
	ExpiresAt       time.Time `json:"expires_at"`
	CancelRequested bool      `json:"cancel_requested"`
}

// Heartbeat renews a lease; progress (0-100) is sent when not nil. A 409 lease_lost says the
// task is no longer this worker's.
func (c *Client) Heartbeat(ctx context.Context, taskID, token string, progress *float64) (*HeartbeatAck, error) {
	body := map[string]any{"token": token}
	if progress != nil {
		body["progress"] = *progress
	}
	var ack HeartbeatAck
	if err := c.call(ctx, "POST", taskPath(taskID, "heartbeat"), nil, body, nil, &ack); err != nil {
		return nil, err
	}
	return &ack, nil
}

// Complete finishes an attempt with its result (any JSON value; nil sends none).
func (c *Client) Complete(ctx context.Context, taskID, token string, result any) (*Task, error) {
	body := map[string]any{"token": token}
	if result != nil {
		body["result"] = result
	}
	return c.taskCall(ctx, taskPath(taskID, "complete"), body)
}

// FailOptions steer a failed attempt: Permanent sends the task to the DLQ at once, retries
// left or not ("retry": false); RetryAfter, when not nil, replaces the backoff (0: at once).
type FailOptions struct {
	Permanent  bool
	RetryAfter *time.Duration
}

// Fail fails an attempt with its error message.
func (c *Client) Fail(ctx context.Context, taskID, token, message string, opts FailOptions) (*Task, error) {
	return c.taskCall(ctx, taskPath(taskID, "fail"), failBody(token, message, opts))
}

// Release hands a running task back without using up its attempt (→ pending, or cancelled
// if a cancel was asked): what a worker shutting down does.
func (c *Client) Release(ctx context.Context, taskID, token string) (*Task, error) {
	return c.taskCall(ctx, taskPath(taskID, "release"), map[string]any{"token": token})
}

// Outcome is one attempt's end for ReportOutcomes: a completion (Failed false, Result), or a
// failure (Failed true, Error, Fail).
type Outcome struct {
	TaskID string
	Token  string
	Result any // a completion's result; nil sends none
	Failed bool
	Error  string
	Fail   FailOptions
}

func (o Outcome) body() map[string]any {
	if !o.Failed {
		body := map[string]any{"id": o.TaskID, "token": o.Token}
		if o.Result != nil {
			body["result"] = o.Result
		}
		return body
	}
	body := failBody(o.Token, o.Error, o.Fail)
	body["id"] = o.TaskID
	return body
}

// Settled is what became of one reported outcome: the task's state now, or the *Error it
// was refused with (lease_lost or not_found), each refused alone.
type Settled struct {
	TaskID string
	State  string
	Err    *Error
}

// LeaseAsk asks a report of outcomes to lease the worker's next tasks in the same step.
type LeaseAsk struct {
	WorkerID string
	Max      int // 1-100
	Queues   []string
	Types    []string
}

// ReportOutcomes reports many attempts' outcomes at once (POST /api/v1/outcomes), in order,
// and with next (when not nil) leases up to next.Max tasks in the same step.
func (c *Client) ReportOutcomes(ctx context.Context, outcomes []Outcome, next *LeaseAsk) ([]Settled, []*LeasedTask, error) {
	items := make([]map[string]any, len(outcomes))
	for i, outcome := range outcomes {
		items[i] = outcome.body()
	}
	body := map[string]any{"outcomes": items}
	if next != nil && next.Max > 0 {
		body["next"] = next.Max
		body["worker_id"] = next.WorkerID
		if len(next.Queues) > 0 {
			body["queues"] = next.Queues
		}
		if len(next.Types) > 0 {
			body["types"] = next.Types
		}
	}
	var answer struct {
		Results []struct {
			ID    string `json:"id"`
			State string `json:"state"`
			Error *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		} `json:"results"`
		Tasks []*LeasedTask `json:"tasks"`
	}
	if err := c.call(ctx, "POST", "/api/v1/outcomes", nil, body, nil, &answer); err != nil {
		return nil, nil, err
	}
	settled := make([]Settled, len(answer.Results))
	for i, result := range answer.Results {
		settled[i] = Settled{TaskID: result.ID, State: result.State}
		if result.Error != nil {
			status := 409
			if result.Error.Code == CodeNotFound {
				status = 404
			}
			settled[i].Err = &Error{Status: status, Code: result.Error.Code, Message: result.Error.Message}
		}
	}
	return settled, answer.Tasks, nil
}

// WorkerDetails is what a worker reports of itself; a nil or empty field keeps its last value.
type WorkerDetails struct {
	Host        string   `json:"host,omitempty"`
	PID         int      `json:"pid,omitempty"`
	Queues      []string `json:"queues,omitempty"`
	Types       []string `json:"types,omitempty"`
	Concurrency int      `json:"concurrency,omitempty"`
	Active      *int     `json:"active,omitempty"`
	Processed   *int     `json:"processed,omitempty"`
	Failed      *int     `json:"failed,omitempty"`
}

// WorkerHeartbeat registers or refreshes a worker in the registry; the answer is its state,
// "active" or "paused" (a paused worker takes no new tasks).
func (c *Client) WorkerHeartbeat(ctx context.Context, workerID string, details WorkerDetails) (string, error) {
	var answer struct {
		State string `json:"state"`
	}
	err := c.call(ctx, "POST", "/api/v1/workers/"+url.PathEscape(workerID)+"/heartbeat", nil, details, nil, &answer)
	return answer.State, err
}

// WorkerLeft says the worker has shut down (it leaves the worker list at once).
func (c *Client) WorkerLeft(ctx context.Context, workerID string) error {
	return c.call(ctx, "DELETE", "/api/v1/workers/"+url.PathEscape(workerID), nil, nil, nil, nil)
}

func (c *Client) taskCall(ctx context.Context, path string, body any) (*Task, error) {
	var task Task
	if err := c.call(ctx, "POST", path, nil, body, nil, &task); err != nil {
		return nil, err
	}
	return &task, nil
}

func taskPath(taskID, action string) string {
	return "/api/v1/tasks/" + url.PathEscape(taskID) + "/" + action
}

func failBody(token, message string, opts FailOptions) map[string]any {
	body := map[string]any{"token": token, "error": message, "retry": !opts.Permanent}
	if opts.RetryAfter != nil {
		body["retry_after"] = opts.RetryAfter.Seconds()
	}
	return body
}
