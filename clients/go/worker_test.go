package taskline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// startWorker runs w until the returned stop is called (or the test ends); stop returns
// what Run returned.
func startWorker(t *testing.T, w *Worker) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- w.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-result:
			case <-time.After(30 * time.Second):
				err = errors.New("Run did not return within 30 s of its ctx ending")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func quietLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// waitFor reads the task until it is in state.
func waitFor(t *testing.T, c *Client, id, state string) *Task {
	t.Helper()
	var task *Task
	eventually(t, "task "+id+" to be "+state, func() bool {
		task = must(c.Get(testContext(t), id))(t)
		return task.State == state
	})
	return task
}

func TestAWorkerRunsTasksAndReportsTheirResults(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-work")
	w := NewWorker(c, WorkerOptions{Queues: []string{queue}, Concurrency: 4, Logger: quietLogger()})
	w.Handle("go.double", func(ctx context.Context, task *Task) (any, error) {
		var payload struct{ N int }
		if err := task.DecodePayload(&payload); err != nil {
			return nil, err
		}
		return map[string]int{"doubled": payload.N * 2}, nil
	})
	stop := startWorker(t, w)

	eventually(t, "the worker to register", func() bool {
		status, _ := admin(t, "/admin/workers/"+w.ID())
		return status == 200
	})
	_, registered := admin(t, "/admin/workers/"+w.ID())
	record := registered["workers"].([]any)[0].(map[string]any)
	if record["concurrency"] != float64(4) || fmt.Sprint(record["types"]) != "[go.double]" || fmt.Sprint(record["queues"]) != "["+queue+"]" {
		t.Fatalf("the registry shows %v", record)
	}

	specs := make([]TaskSpec, 20)
	for i := range specs {
		specs[i] = Spec("go.double", map[string]int{"n": i}, Queue(queue))
	}
	tasks := must(c.SubmitBulk(ctx, specs))(t)
	for i, task := range tasks {
		done := must(c.Wait(ctx, task.ID))(t)
		var result struct{ Doubled int }
		if noErr(done.DecodeResult(&result))(t); done.State != StateCompleted || result.Doubled != 2*i || done.Attempts != 1 {
			t.Fatalf("task %d: %s, attempts %d, result %s", i, done.State, done.Attempts, done.Result)
		}
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if status, _ := admin(t, "/admin/workers/"+w.ID()); status != 404 {
		t.Fatalf("the worker is still listed after it stopped (%d)", status)
	}
}

func TestHandlerErrorsFailRetryLaterOrGoToTheDLQ(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-fail")
	w := NewWorker(c, WorkerOptions{Queues: []string{queue}, Logger: quietLogger()})
	w.Handle("go.again", func(ctx context.Context, task *Task) (any, error) {
		if task.Attempts == 1 {
			return nil, RetryAfter(0, errors.New("not yet"))
		}
		return "second time", nil
	})
	w.Handle("go.never", func(ctx context.Context, task *Task) (any, error) {
		return nil, Permanent(errors.New("bad input"))
	})
	w.Handle("go.plain", func(ctx context.Context, task *Task) (any, error) {
		return nil, errors.New("boom")
	})
	w.Handle("go.panics", func(ctx context.Context, task *Task) (any, error) {
		panic("oops")
	})
	w.Handle("go.notjson", func(ctx context.Context, task *Task) (any, error) {
		return func() {}, nil
	})
	w.Handle("go.verbose", func(ctx context.Context, task *Task) (any, error) {
		return nil, errors.New(strings.Repeat("é", 70000)) // over fail's 65536 characters
	})
	startWorker(t, w)

	// RetryAfter(0): due at once, not after the backoff (the server's is seconds).
	again := must(c.Submit(ctx, "go.again", nil, Queue(queue)))(t)
	if done := must(c.Wait(ctx, again.ID))(t); done.State != StateCompleted || done.Attempts != 2 || *done.Error != "not yet" {
		t.Fatalf("RetryAfter(0): %s after %d attempts, error %v", done.State, done.Attempts, done.Error)
	}

	never := must(c.Submit(ctx, "go.never", nil, Queue(queue), MaxRetries(5)))(t)
	failed := must(c.Wait(ctx, never.ID))(t)
	if failed.State != StateFailed || failed.Attempts != 1 || *failed.Error != "bad input" {
		t.Fatalf("Permanent: %s after %d attempts: %v", failed.State, failed.Attempts, *failed.Error)
	}

	for taskType, message := range map[string]string{
		"go.plain": "boom", "go.panics": "panic: oops", "go.notjson": "the result is not JSON",
		"go.verbose": strings.Repeat("é", 65536),
	} {
		task := must(c.Submit(ctx, taskType, nil, Queue(queue), MaxRetries(0)))(t)
		done := must(c.Wait(ctx, task.ID))(t)
		if done.State != StateFailed || done.Error == nil || !strings.HasPrefix(*done.Error, message) || len(done.Errors) != 1 {
			t.Fatalf("%s: %s with error %.200v", taskType, done.State, done.Errors)
		}
	}
}

func TestAWorkerKeepsItsLeaseAndSendsProgress(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-lease")
	w := NewWorker(c, WorkerOptions{Queues: []string{queue}, Logger: quietLogger()})
	seenProgress := make(chan struct{})
	w.Handle("go.long", func(ctx context.Context, task *Task) (any, error) {
		Progress(ctx, 40)
		<-seenProgress
		// What is tested is that the lease outlives its length: so this handler does.
		select {
		case <-time.After(attemptOf(ctx).leaseLength() * 3 / 2):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return "done", nil
	})
	startWorker(t, w)

	task := must(c.Submit(ctx, "go.long", nil, Queue(queue)))(t)
	eventually(t, "the progress to arrive", func() bool {
		got := must(c.Get(ctx, task.ID))(t)
		return got.Progress != nil && *got.Progress == 40
	})
	close(seenProgress)
	done := must(c.Wait(ctx, task.ID))(t)
	if done.State != StateCompleted || done.Attempts != 1 || string(done.Result) != `"done"` {
		t.Fatalf("%s after %d attempts: %v %s", done.State, done.Attempts, done.Error, done.Result)
	}
}

func attemptOf(ctx context.Context) *attempt { return ctx.Value(attemptKey{}).(*attempt) }

func TestACancelStopsTheHandlerAndEndsTheTaskCancelled(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-cancel")
	w := NewWorker(c, WorkerOptions{Queues: []string{queue}, Logger: quietLogger()})
	w.Handle("go.block", func(ctx context.Context, task *Task) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	startWorker(t, w)

	task := must(c.Submit(ctx, "go.block", nil, Queue(queue)))(t)
	waitFor(t, c, task.ID, StateRunning)
	if asked := must(c.Cancel(ctx, task.ID))(t); asked.State != StateRunning || !asked.CancelRequested {
		t.Fatalf("Cancel of a running task: %s, cancel_requested %v", asked.State, asked.CancelRequested)
	}
	if done := must(c.Wait(ctx, task.ID))(t); done.State != StateCancelled {
		t.Fatalf("want cancelled, got %s", done.State)
	}
}

func TestAStoppingWorkerHandsBackWhatItCouldNotFinish(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-stop")
	w := NewWorker(c, WorkerOptions{Queues: []string{queue}, ShutdownTimeout: 100 * time.Millisecond, Logger: quietLogger()})
	w.Handle("go.block", func(ctx context.Context, task *Task) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	stop := startWorker(t, w)

	task := must(c.Submit(ctx, "go.block", nil, Queue(queue)))(t)
	waitFor(t, c, task.ID, StateRunning)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	back := must(c.Get(ctx, task.ID))(t)
	if back.State != StatePending || back.Error != nil || back.WorkerID != nil {
		t.Fatalf("after the stop: %s, error %v, worker %v", back.State, back.Error, back.WorkerID)
	}
	if status, _ := admin(t, "/admin/workers/"+w.ID()); status != 404 {
		t.Fatalf("the worker is still listed after it stopped (%d)", status)
	}

	// The next worker runs it, and the handed-back attempt did not count.
	next := NewWorker(c, WorkerOptions{Queues: []string{queue}, Logger: quietLogger()})
	next.Handle("go.block", func(ctx context.Context, task *Task) (any, error) { return "ran", nil })
	startWorker(t, next)
	if done := must(c.Wait(ctx, task.ID))(t); done.State != StateCompleted || done.Attempts != 1 {
		t.Fatalf("after the hand-back: %s after %d attempts", done.State, done.Attempts)
	}
}

func TestAWorkerLearnsOfItsPauseAndResume(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-pause")
	w := NewWorker(c, WorkerOptions{Queues: []string{queue}, PollWait: time.Second, Logger: quietLogger()})
	w.Handle("go.echo", func(ctx context.Context, task *Task) (any, error) { return "ok", nil })
	startWorker(t, w)
	eventually(t, "the worker to register", func() bool {
		status, _ := admin(t, "/admin/workers/"+w.ID())
		return status == 200
	})

	adminPost(t, "/admin/workers/"+w.ID()+"/pause")
	eventually(t, "the worker to see its pause", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.paused
	})
	task := must(c.Submit(ctx, "go.echo", nil, Queue(queue)))(t)
	adminPost(t, "/admin/workers/"+w.ID()+"/resume")
	if done := must(c.Wait(ctx, task.ID))(t); done.State != StateCompleted {
		t.Fatalf("after the resume: %s", done.State)
	}
}

func TestOutcomesCarryRetryAndRetryAfterAsTheRoutesTakeThem(t *testing.T) {
	// A stand-in server shows the body as sent; the live one only shows its effect.
	bodies := make(chan map[string]any, 1)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		bodies <- body
		_, _ = w.Write([]byte(`{"results": [{"id": "a", "state": "retrying"}, {"id": "b", "error": {"code": "lease_lost", "message": "gone"}}, {"id": "c", "state": "completed"}], "tasks": []}`))
	}))
	defer server.Close()
	hour := time.Hour
	settled, leases, err := NewClient(server.URL).ReportOutcomes(testContext(t), []Outcome{
		{TaskID: "a", Token: "ta", Failed: true, Error: "later", Fail: FailOptions{RetryAfter: &hour}},
		{TaskID: "b", Token: "tb", Failed: true, Error: "never", Fail: FailOptions{Permanent: true}},
		{TaskID: "c", Token: "tc", Result: map[string]int{"n": 1}},
	}, &LeaseAsk{WorkerID: "w", Max: 2, Types: []string{"x"}})
	if err != nil || len(leases) != 0 {
		t.Fatal(err, leases)
	}
	want := `{"next":2,"outcomes":[{"error":"later","id":"a","retry":true,"retry_after":3600,"token":"ta"},` +
		`{"error":"never","id":"b","retry":false,"token":"tb"},{"id":"c","result":{"n":1},"token":"tc"}],"types":["x"],"worker_id":"w"}`
	if got, _ := json.Marshal(<-bodies); string(got) != want {
		t.Fatalf("sent %s\nwant %s", got, want)
	}
	if settled[0].State != StateRetrying || settled[1].Err == nil || settled[1].Err.Code != CodeLeaseLost || settled[1].Err.Status != 409 {
		t.Fatalf("settled %+v", settled)
	}
}

func TestAWorkerRunsAtMostConcurrencyTasksAtOnce(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-slots")
	w := NewWorker(c, WorkerOptions{Queues: []string{queue}, Concurrency: 2, Logger: quietLogger()})
	var mu sync.Mutex
	running, most := 0, 0
	gate := make(chan struct{})
	w.Handle("go.slot", func(ctx context.Context, task *Task) (any, error) {
		mu.Lock()
		running++
		if running > most {
			most = running
		}
		mu.Unlock()
		<-gate
		mu.Lock()
		running--
		mu.Unlock()
		return nil, nil
	})
	startWorker(t, w)

	specs := make([]TaskSpec, 6)
	for i := range specs {
		specs[i] = Spec("go.slot", nil, Queue(queue))
	}
	tasks := must(c.SubmitBulk(ctx, specs))(t)
	eventually(t, "two tasks to run", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return running == 2
	})
	page := must(c.List(ctx, ListOptions{Queue: queue, State: StateRunning}))(t)
	if len(page.Tasks) != 2 {
		t.Fatalf("%d tasks leased with 2 slots", len(page.Tasks))
	}
	close(gate)
	for _, task := range tasks {
		if done := must(c.Wait(ctx, task.ID))(t); done.State != StateCompleted {
			t.Fatalf("%s", done.State)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most != 2 {
		t.Fatalf("at most %d ran at once, want 2", most)
	}
}
