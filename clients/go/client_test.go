package taskline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

func TestSubmitSendsEveryTaskOption(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-options")
	hooks := make(chan []byte, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case hooks <- body:
		default:
		}
	}))
	defer receiver.Close()

	before := time.Now()
	task := must(c.Submit(ctx, "go.options", map[string]any{"n": 1},
		Queue(queue), Priority(PriorityHigh), MaxRetries(0), Timeout(5*time.Second), Delay(time.Hour),
		UniqueKey("options-1"), UniqueTTL(time.Minute), Metadata(map[string]any{"by": "go"}),
		Webhook(receiver.URL+"/hook"),
	))(t)
	if task.Queue != queue || task.Priority != PriorityHigh || task.MaxRetries != 0 || task.Timeout != 5 ||
		task.UniqueTTL != 60 || *task.UniqueKey != "options-1" || task.Metadata["by"] != "go" ||
		*task.Webhook != receiver.URL+"/hook" || task.State != StateScheduled {
		t.Fatalf("the options did not all arrive: %+v", task)
	}
	if wait := task.ScheduledAt.Sub(before); wait < 59*time.Minute || wait > 61*time.Minute {
		t.Fatalf("Delay(1h) scheduled it %s ahead", wait)
	}
	var payload map[string]int
	if noErr(task.DecodePayload(&payload))(t); payload["n"] != 1 {
		t.Fatalf("payload %s", task.Payload)
	}

	again := must(c.Submit(ctx, "go.options", nil, Queue(queue), UniqueKey("options-1")))(t)
	if again.ID != task.ID {
		t.Fatalf("a unique_key hit gave a new task %s, not %s", again.ID, task.ID)
	}

	// The webhook is the task's own: cancelling it (a terminal state) delivers it.
	must(c.Cancel(ctx, task.ID))(t)
	select {
	case body := <-hooks:
		var delivery struct {
			Event string `json:"event"`
			Task  Task   `json:"task"`
		}
		if err := json.Unmarshal(body, &delivery); err != nil || delivery.Event != "task.cancelled" || delivery.Task.ID != task.ID {
			t.Fatalf("webhook delivery %s (%v)", body, err)
		}
	case <-ctx.Done():
		t.Fatal("no webhook delivery (does the server have TASKLINE_WEBHOOK_ALLOW_PRIVATE=true?)")
	}

	at := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Millisecond)
	scheduled := must(c.Submit(ctx, "go.options", nil, Queue(queue), ScheduledAt(at)))(t)
	if scheduled.ScheduledAt == nil || !scheduled.ScheduledAt.Equal(at) {
		t.Fatalf("ScheduledAt(%s) gave %v", at, scheduled.ScheduledAt)
	}
}

func TestIdempotencyKeyActsAsUniqueKey(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue, key := uniqueName("go-idem"), uniqueName("key")
	first := must(c.Submit(ctx, "go.idem", map[string]int{"n": 1}, Queue(queue), Delay(time.Hour), IdempotencyKey(key)))(t)
	second := must(c.Submit(ctx, "go.idem", map[string]int{"n": 1}, Queue(queue), Delay(time.Hour), IdempotencyKey(key)))(t)
	if first.ID != second.ID {
		t.Fatalf("the same Idempotency-Key gave two tasks: %s, %s", first.ID, second.ID)
	}
	_, err := c.Submit(ctx, "go.idem", map[string]int{"n": 2}, Queue(queue), Delay(time.Hour), IdempotencyKey(key))
	wantCode(t, err, 409, CodeIdempotencyConflict)
}

func TestAnInvalidSubmitIsAn422NamingTheField(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	_, err := c.Submit(ctx, "go.bad", nil, Priority(7))
	apiErr := wantCode(t, err, 422, CodeValidation)
	if !mentionsField(apiErr.Details, "priority") {
		t.Fatalf("details do not name priority: %#v", apiErr.Details)
	}
	// UniqueTTL takes whole seconds: a fraction goes to the server, which refuses it.
	_, err = c.Submit(ctx, "go.bad", nil, UniqueTTL(1500*time.Millisecond))
	if apiErr := wantCode(t, err, 422, CodeValidation); !mentionsField(apiErr.Details, "unique_ttl") {
		t.Fatalf("details do not name unique_ttl: %#v", apiErr.Details)
	}
}

func mentionsField(details any, field string) bool {
	items, _ := details.([]any)
	for _, item := range items {
		if entry, ok := item.(map[string]any); ok && entry["field"] == field {
			return true
		}
	}
	return false
}

func TestSubmitBulkIsInOrderAndAllOrNothing(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-bulk")
	tasks := must(c.SubmitBulk(ctx, []TaskSpec{
		Spec("go.a", map[string]int{"i": 0}, Queue(queue), Delay(time.Hour)),
		Spec("go.b", map[string]int{"i": 1}, Queue(queue), Delay(time.Hour), Priority(PriorityLow)),
		Spec("go.c", nil, Queue(queue), Delay(time.Hour)),
	}))(t)
	if len(tasks) != 3 || tasks[0].Type != "go.a" || tasks[1].Type != "go.b" || tasks[2].Type != "go.c" ||
		tasks[1].Priority != PriorityLow || string(tasks[2].Payload) != "{}" {
		t.Fatalf("bulk answer %+v", tasks)
	}

	_, err := c.SubmitBulk(ctx, []TaskSpec{
		Spec("go.ok", nil, Queue(queue), Delay(time.Hour)), Spec("go.bad", nil, Queue(queue), MaxRetries(-1)),
	})
	apiErr := wantCode(t, err, 422, CodeValidation)
	items, _ := apiErr.Details.([]any)
	if len(items) != 1 || items[0].(map[string]any)["index"] != float64(1) {
		t.Fatalf("details do not name item 1: %#v", apiErr.Details)
	}
	page := must(c.List(ctx, ListOptions{Queue: queue, Type: "go.ok"}))(t)
	if len(page.Tasks) != 0 {
		t.Fatal("a refused bulk enqueued its valid item")
	}

	if _, err := c.SubmitBulk(ctx, []TaskSpec{Spec("go.a", nil, IdempotencyKey("k"))}); !errors.Is(err, errIdempotencyInBulk) {
		t.Fatalf("IdempotencyKey in a bulk: %v", err)
	}
}

func TestGetAndErrorsAsForAMissingTask(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	submitted := must(c.Submit(ctx, "go.get", map[string]string{"x": "y"}, Queue(uniqueName("go-get")), Delay(time.Hour)))(t)
	got := must(c.Get(ctx, submitted.ID))(t)
	if got.ID != submitted.ID || string(got.Payload) != `{"x":"y"}` || got.CreatedAt.IsZero() {
		t.Fatalf("Get: %+v", got)
	}
	_, err := c.Get(ctx, "0190f000-0000-7000-8000-000000000000")
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code != CodeNotFound || apiErr.Message == "" {
		t.Fatalf("want a 404 not_found *Error, got %#v", err)
	}
	if !IsCode(fmt.Errorf("wrapped: %w", err), CodeNotFound) {
		t.Fatal("IsCode does not see through wrapping")
	}
}

func TestListPagesWithTheCursor(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-list")
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, must(c.Submit(ctx, "go.list", map[string]int{"i": i}, Queue(queue), Delay(time.Hour)))(t).ID)
	}
	var seen []string
	options := ListOptions{Queue: queue, State: StateScheduled, Limit: 2}
	for pages := 0; ; pages++ {
		page := must(c.List(ctx, options))(t)
		for _, task := range page.Tasks {
			seen = append(seen, task.ID)
		}
		if page.NextCursor == "" {
			if pages != 2 {
				t.Fatalf("5 tasks in pages of 2 took %d pages", pages+1)
			}
			break
		}
		options.Cursor = page.NextCursor
	}
	newestFirst := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if !reflect.DeepEqual(seen, newestFirst) {
		t.Fatalf("listed %v, want newest first %v", seen, newestFirst)
	}
	_, err := c.List(ctx, ListOptions{State: "nonsense"})
	wantCode(t, err, 422, CodeValidation)
}

func TestCancelThenRetryWithAndWithoutAPayload(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-cancel")
	task := must(c.Submit(ctx, "go.cancel", map[string]int{"v": 1}, Queue(queue), Delay(time.Hour)))(t)
	cancelled := must(c.Cancel(ctx, task.ID))(t)
	if cancelled.State != StateCancelled || !cancelled.Terminal() {
		t.Fatalf("Cancel: %s", cancelled.State)
	}
	_, err := c.Cancel(ctx, task.ID)
	wantCode(t, err, 409, CodeInvalidState)

	retried := must(c.Retry(ctx, task.ID))(t)
	if retried.State != StatePending || string(retried.Payload) != `{"v":1}` {
		t.Fatalf("Retry: %s %s", retried.State, retried.Payload)
	}
	must(c.Cancel(ctx, task.ID))(t)
	replaced := must(c.RetryWithPayload(ctx, task.ID, map[string]int{"v": 2}))(t)
	if string(replaced.Payload) != `{"v":2}` {
		t.Fatalf("RetryWithPayload: %s", replaced.Payload)
	}
	_, err = c.Retry(ctx, task.ID) // pending: nothing to retry
	wantCode(t, err, 409, CodeInvalidState)
}

func TestStatsAndQueues(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-stats")
	must(c.Submit(ctx, "go.stats", nil, Queue(queue), Delay(time.Hour)))(t)
	stats := must(c.Stats(ctx))(t)
	for _, state := range []string{StatePending, StateScheduled, StateRunning, StateRetrying, StateCompleted, StateFailed, StateCancelled} {
		if _, ok := stats.States[state]; !ok {
			t.Fatalf("stats lack %s: %+v", state, stats)
		}
	}
	if stats.States[StateScheduled] < 1 || stats.Total < 1 {
		t.Fatalf("stats %+v", stats)
	}
	for _, q := range must(c.Queues(ctx))(t) {
		if q.Name == queue {
			if q.Scheduled != 1 || len(q.Pending) != 4 {
				t.Fatalf("queue %+v", q)
			}
			return
		}
	}
	t.Fatalf("queue %s not listed", queue)
}

func TestAPIKeysAndRoles(t *testing.T) {
	url, ctx := serverURL(t), testContext(t)
	_, err := NewClient(url).Stats(ctx)
	wantCode(t, err, 401, CodeUnauthorized)
	_, err = NewClient(url, WithAPIKey("not-a-key")).Stats(ctx)
	wantCode(t, err, 401, CodeUnauthorized)

	producer := NewClient(url, WithAPIKey(requireEnv(t, "TASKLINE_TEST_PRODUCER_KEY")))
	must(producer.Stats(ctx))(t)
	_, err = producer.Poll(ctx, PollOptions{WorkerID: "go-producer", Queues: []string{uniqueName("go-keys")}})
	wantCode(t, err, 403, CodeForbidden)
}

func TestARateLimitIsWaitedOutThenReturned(t *testing.T) {
	// A stand-in server: the live one is not rate limited in these tests.
	calls := 0
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(429)
		_, _ = w.Write([]byte(`{"error": {"code": "rate_limited", "message": "slow down", "details": null}}`))
	}))
	defer server.Close()
	_, err := NewClient(server.URL, WithRetries(2)).Stats(testContext(t))
	wantCode(t, err, 429, CodeRateLimited)
	if calls != 3 {
		t.Fatalf("want the first call and 2 retries, got %d calls", calls)
	}

	server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	})
	_, err = NewClient(server.URL).Stats(testContext(t))
	wantCode(t, err, 502, CodeUnexpectedResponse)
}

func TestErrorReadsRetryAfter(t *testing.T) {
	e := errorFromResponse(503, []byte(`{"error": {"code": "queue_full", "message": "full", "details": {"queue": "q"}}}`), "7")
	if e.RetryAfter != 7*time.Second || e.Code != CodeQueueFull || e.Details.(map[string]any)["queue"] != "q" {
		t.Fatalf("%#v", e)
	}
	if e.Error() != "taskline: 503 queue_full: full" {
		t.Fatalf("Error(): %q", e.Error())
	}
}
