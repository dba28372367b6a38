package taskline

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math/rand"
	"os"
	"sort"
	"sync"
	"time"
)

// Handler runs one task. Its return value, any value encoding/json takes, is the result; an
// error fails the attempt (retried while retries are left; see Permanent and RetryAfter).
// ctx ends when the task's timeout passes, when a cancel was asked for the task, when its
// lease was lost, or when a worker shutting down has waited ShutdownTimeout for it: a
// handler should return soon after.
type Handler func(ctx context.Context, task *Task) (any, error)

// WorkerOptions configure a Worker; zero values take the defaults.
type WorkerOptions struct {
	ID              string        // default "<host>:<pid>:<random>"
	Concurrency     int           // tasks run at once; default 10
	Queues          []string      // queues to take from; nil: any
	PollWait        time.Duration // how long one long poll waits for a task; default 30 s
	ShutdownTimeout time.Duration // how long a stopping worker lets running tasks finish; default 30 s
	Logger          *log.Logger   // default: standard error, prefixed "taskline: "
}

// Worker takes tasks of the types it has handlers for and runs them, up to Concurrency at
// once, as SPEC §5 says a worker does:
//
//   - it registers in the worker registry and reports itself every second (learning there
//     whether it is paused: a paused worker takes no tasks and finishes what it has);
//   - it long-polls for tasks when it has free slots, and takes its next tasks with the
//     report of its last outcomes (POST /api/v1/outcomes, one round trip a task when busy);
//   - it heartbeats each running task's lease, stopping the handler (its ctx) when the task
//     is cancelled or the lease is lost;
//   - when Run's ctx ends it takes no more tasks, lets running ones finish for
//     ShutdownTimeout, then stops their handlers and hands the tasks back (release, which
//     does not use up an attempt), and says it left (DELETE /api/v1/workers/{id}).
type Worker struct {
	client   *Client
	opts     WorkerOptions
	handlers map[string]Handler
	types    []string
	log      *log.Logger
	host     string
	pid      int

	mu        sync.Mutex
	running   map[string]*attempt // by task id
	asked     int                 // leases asked for by a poll or report still on its way
	stopping  bool
	paused    bool
	reachable bool // the last report to the registry got through (failures are logged once)
	processed int
	failed    int
	attempts  sync.WaitGroup
	wake      chan struct{} // a slot came free, or the worker was resumed
	reporter  *reporter
}

// NewWorker is a worker that takes tasks through client.
func NewWorker(client *Client, opts WorkerOptions) *Worker {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 10
	}
	if opts.PollWait <= 0 {
		opts.PollWait = 30 * time.Second
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = log.New(os.Stderr, "taskline: ", log.LstdFlags)
	}
	host, _ := os.Hostname()
	if opts.ID == "" {
		var suffix [3]byte
		_, _ = crand.Read(suffix[:])
		opts.ID = fmt.Sprintf("%s:%d:%x", host, os.Getpid(), suffix)
	}
	return &Worker{
		client: client, opts: opts, handlers: map[string]Handler{}, log: logger, host: host, pid: os.Getpid(),
		running: map[string]*attempt{}, wake: make(chan struct{}, 1), reachable: true,
	}
}

// ID is the worker's id in the worker registry.
func (w *Worker) ID() string { return w.opts.ID }

// Handle registers the handler of a task type; call it before Run. The worker leases only
// the types it has handlers for.
func (w *Worker) Handle(taskType string, handler Handler) {
	w.handlers[taskType] = handler
}

// Run takes and runs tasks until ctx ends, then shuts down gracefully (see Worker) and
// returns nil. A server that cannot be reached is tried again with backoff, not returned.
func (w *Worker) Run(ctx context.Context) error {
	if len(w.handlers) == 0 {
		return errors.New("taskline: the worker has no handlers (Handle before Run)")
	}
	w.types = make([]string, 0, len(w.handlers))
	for name := range w.handlers {
		w.types = append(w.types, name)
	}
	sort.Strings(w.types)
	w.log.Printf("worker %s: concurrency %d, queues %v, types %v", w.opts.ID, w.opts.Concurrency, w.opts.Queues, w.types)

	duties, stopDuties := context.WithCancel(context.Background())
	var background sync.WaitGroup
	w.reporter = &reporter{w: w, in: make(chan *report), stopped: duties.Done()}
	go func() { // from the moment ctx ends, leases that arrive are handed back unstarted
		<-ctx.Done()
		w.mu.Lock()
		w.stopping = true
		w.mu.Unlock()
	}()
	w.beat() // registered before the first poll
	background.Add(2)
	go func() { defer background.Done(); w.presence(duties) }()
	go func() { defer background.Done(); w.reporter.run(duties) }()

	w.take(ctx)
	w.windDown()
	stopDuties()
	background.Wait()
	leaving, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.client.WorkerLeft(leaving, w.opts.ID); err != nil {
		// It drops off the list a minute after its last heartbeat anyway.
		w.log.Printf("worker %s: could not say it left: %v", w.opts.ID, err)
	}
	return nil
}

// take leases tasks while there is room, until ctx ends.
func (w *Worker) take(ctx context.Context) {
	failedPolls := 0
	for ctx.Err() == nil {
		free := w.reserve()
		if free <= 0 { // paused, or every slot taken
			select {
			case <-w.wake:
			case <-ctx.Done():
			}
			continue
		}
		polling, cancel := context.WithTimeout(ctx, w.opts.PollWait+30*time.Second)
		leases, err := w.client.Poll(polling, PollOptions{
			WorkerID: w.opts.ID, Queues: w.opts.Queues, Types: w.types, Wait: w.opts.PollWait, Max: free,
		})
		cancel()
		w.arrived(leases, free)
		if err != nil {
			if ctx.Err() != nil {
				break // a poll cut short: the server hands back what it leased for it
			}
			failedPolls++
			pause := pollPause(failedPolls)
			w.log.Printf("worker %s: poll failed: %v; again in %.1fs", w.opts.ID, err, pause.Seconds())
			sleep(ctx, pause)
			continue
		}
		failedPolls = 0
	}
	w.mu.Lock()
	w.stopping = true
	w.mu.Unlock()
}

// reserve counts the free slots as asked for and returns how many (0 while paused).
func (w *Worker) reserve() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.paused {
		return 0
	}
	free := w.opts.Concurrency - len(w.running) - w.asked
	if free > maxNext {
		free = maxNext
	}
	if free > 0 {
		w.asked += free
	}
	return free
}

const maxNext = 100 // the most tasks one poll or report leases

// arrived starts the leases a poll or report asked for (`asked` of them) brought, or hands
// them back when the worker is stopping. The slots asked for become the running tasks' in
// one step, so no report in between sees them free.
func (w *Worker) arrived(leases []*LeasedTask, asked int) {
	var started []*attempt
	w.mu.Lock()
	w.asked -= asked
	stopping := w.stopping
	if !stopping {
		for _, lease := range leases {
			a := newAttempt(lease)
			w.running[lease.ID] = a
			w.attempts.Add(1)
			started = append(started, a)
		}
	}
	w.mu.Unlock()
	if stopping {
		for _, lease := range leases {
			w.release(lease)
		}
	}
	for _, a := range started {
		go w.execute(a)
	}
}

// free gives back an ended attempt's slot.
func (w *Worker) free(a *attempt) {
	w.mu.Lock()
	delete(w.running, a.lease.ID)
	w.mu.Unlock()
	w.signal()
	w.attempts.Done()
}

func (w *Worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// windDown waits for running tasks, then stops the ones still running and hands them back.
func (w *Worker) windDown() {
	done := make(chan struct{})
	go func() { w.attempts.Wait(); close(done) }()
	w.mu.Lock()
	w.stopping = true
	count := len(w.running)
	w.mu.Unlock()
	if count == 0 {
		<-done
		return
	}
	w.log.Printf("worker %s: waiting up to %s for %d running tasks", w.opts.ID, w.opts.ShutdownTimeout, count)
	select {
	case <-done:
		return
	case <-time.After(w.opts.ShutdownTimeout):
	}
	unfinished := w.runningAttempts()
	w.log.Printf("worker %s: handing back %d unfinished tasks", w.opts.ID, len(unfinished))
	for _, a := range unfinished {
		a.stop(stoppedForShutdown)
	}
	select {
	case <-done:
		return
	case <-time.After(handBackTimeout):
	}
	// Handlers that ignore their ctx: a goroutine cannot be stopped, but its task can be
	// handed back now, and whatever the handler returns later is not reported.
	for _, a := range w.runningAttempts() {
		if a.claim() {
			w.release(a.lease)
		}
	}
}

const handBackTimeout = 10 * time.Second

func (w *Worker) runningAttempts() []*attempt {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := make([]*attempt, 0, len(w.running))
	for _, a := range w.running {
		list = append(list, a)
	}
	return list
}

// presence reports the worker to the registry every second until ctx ends.
func (w *Worker) presence(ctx context.Context) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			w.beat()
		}
	}
}

func (w *Worker) beat() {
	w.mu.Lock()
	active, processed, failed := len(w.running), w.processed, w.failed
	w.mu.Unlock()
	details := WorkerDetails{
		Host: w.host, PID: w.pid, Queues: w.opts.Queues, Types: w.types, Concurrency: w.opts.Concurrency,
		Active: &active, Processed: &processed, Failed: &failed,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	state, err := w.client.WorkerHeartbeat(ctx, w.opts.ID, details)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil { // the server or the network: the worker keeps its state; the next beat tries again
		if w.reachable {
			w.log.Printf("worker %s: cannot report to the worker registry: %v", w.opts.ID, err)
		}
		w.reachable = false
		return
	}
	w.reachable = true
	switch paused := state == "paused"; {
	case paused && !w.paused:
		w.log.Printf("worker %s: paused; taking no new tasks", w.opts.ID)
	case !paused && w.paused:
		w.log.Printf("worker %s: resumed", w.opts.ID)
		w.signal()
	}
	w.paused = state == "paused"
}

// pollPause is the wait after failedPolls failed polls in a row: 0.5, 1, 2, 4, then 5 s,
// each drawn between half and all of it, so a fleet whose server went away does not come
// back in step.
func pollPause(failedPolls int) time.Duration {
	pause := 500 * time.Millisecond << uint(failedPolls-1)
	if failedPolls > 5 || pause > 5*time.Second {
		pause = 5 * time.Second
	}
	jitter.Lock()
	defer jitter.Unlock()
	return time.Duration(float64(pause) * (0.5 + jitter.Float64()/2))
}

// jitter draws the poll pauses: seeded apart in each process (math/rand's own source starts
// the same in every process before Go 1.20, which would keep a fleet in step).
var jitter = struct {
	sync.Mutex
	*rand.Rand
}{Rand: rand.New(rand.NewSource(seed()))}

func seed() int64 {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]))
}

func sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// execute runs one leased task and reports its outcome.
func (w *Worker) execute(a *attempt) {
	defer w.free(a)
	task := &a.lease.Task
	handler := w.handlers[task.Type]
	if handler == nil { // not leased unless asked for; a server that ignored `types` is told so
		w.report(a, Outcome{Failed: true, Error: fmt.Sprintf("no handler for type %q", task.Type)})
		return
	}
	timeout := time.Duration(task.Timeout * float64(time.Second))
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), attemptKey{}, a), timeout)
	defer cancel()
	a.setCancel(cancel)
	keeping := w.keepLease(a)
	result, err := call(ctx, handler, task)
	keeping() // before the outcome, so no heartbeat races it into a false "lease lost"

	why, cancelRequested := a.stopped()
	switch {
	case why == stoppedLeaseLost:
		return // the task is someone else's now: nothing to report
	case err == nil:
		encoded, marshalErr := json.Marshal(result)
		if marshalErr != nil {
			w.report(a, Outcome{Failed: true, Error: "the result is not JSON: " + marshalErr.Error(), Fail: FailOptions{Permanent: true}})
			return
		}
		if result == nil {
			encoded = nil
		}
		w.report(a, Outcome{Result: rawOrNil(encoded)})
	case cancelRequested:
		w.report(a, Outcome{Failed: true, Error: "cancelled", Fail: FailOptions{Permanent: true}})
	case why == stoppedForShutdown:
		if a.claim() {
			w.release(a.lease)
		}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		w.report(a, Outcome{Failed: true, Error: "timeout"})
	default:
		outcome := Outcome{Failed: true, Error: err.Error()}
		var steer *steeredError
		if errors.As(err, &steer) {
			outcome.Fail = FailOptions{Permanent: steer.permanent, RetryAfter: steer.after}
		}
		if outcome.Error == "" {
			outcome.Error = "failed"
		}
		w.report(a, outcome)
	}
}

func rawOrNil(encoded []byte) any {
	if encoded == nil {
		return nil
	}
	return json.RawMessage(encoded)
}

// call runs the handler; a panic fails the attempt instead of the worker.
func call(ctx context.Context, handler Handler, task *Task) (result any, err error) {
	defer func() {
		if recovered := recover(); recovered != nil {
			result, err = nil, fmt.Errorf("panic: %v", recovered)
		}
	}()
	return handler(ctx, task)
}

// report sends a completion or failure; while the server cannot be reached or says to come
// back, again, until a lease's length has passed (after that the lease has run out and the
// server runs the task again). Sending twice is safe: a repeated complete is answered as the
// first was, and a fail that got through makes the next one a lease_lost.
func (w *Worker) report(a *attempt, outcome Outcome) {
	if !a.claim() {
		return
	}
	outcome.TaskID, outcome.Token = a.lease.ID, a.lease.Lease.Token
	outcome.Error = truncate(outcome.Error, maxErrorChars)
	w.mu.Lock()
	if outcome.Failed {
		w.failed++
	} else {
		w.processed++
	}
	w.mu.Unlock()
	giveUp := time.Now().Add(a.leaseLength())
	for tries := 1; ; tries++ {
		settled, err := w.reporter.report(outcome)
		if err == nil {
			if settled.Err != nil {
				w.log.Printf("task %s: its lease was lost before the outcome arrived (%s)", outcome.TaskID, settled.Err.Code)
			}
			return
		}
		wait := reportRetry(tries)
		if !transient(err) || time.Now().Add(wait).After(giveUp) {
			w.log.Printf("task %s: could not report its outcome: %v; it runs again", outcome.TaskID, err)
			return
		}
		w.log.Printf("task %s: could not report its outcome (%v); trying again", outcome.TaskID, err)
		time.Sleep(wait)
	}
}

// maxErrorChars is the longest error a fail takes (FailBody's max_length).
const maxErrorChars = 65536

// truncate cuts text to at most max characters.
func truncate(text string, max int) string {
	if len(text) <= max { // bytes: at least as many as characters
		return text
	}
	runes := []rune(text)
	if len(runes) <= max {
		return text
	}
	return string(runes[:max])
}

// reportRetry: 0.1 s doubling to 2 s.
func reportRetry(tries int) time.Duration {
	wait := 100 * time.Millisecond << uint(tries-1)
	if tries > 5 || wait > 2*time.Second {
		wait = 2 * time.Second
	}
	return wait
}

// transient: the server could not be reached, or said to come back.
func transient(err error) bool {
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		return !errors.Is(err, errReporterStopped)
	}
	return apiErr.Status == 503 || apiErr.Status == 429
}

func (w *Worker) release(lease *LeasedTask) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := w.client.Release(ctx, lease.ID, lease.Lease.Token); err != nil {
		// Its lease runs out and the server runs it again: nothing is lost.
		w.log.Printf("task %s: could not hand it back: %v", lease.ID, err)
	}
}

// keepLease heartbeats a's lease every third of its length (and soon after a Progress)
// until the returned function is called, which returns once no heartbeat is on its way.
func (w *Worker) keepLease(a *attempt) func() {
	interval := a.leaseLength() / 3
	if interval < 500*time.Millisecond {
		interval = 500 * time.Millisecond
	} else if interval > 10*time.Second {
		interval = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		var sent *float64
		for {
			timer := time.NewTimer(interval)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-a.nudge:
				timer.Stop()
			case <-timer.C:
			}
			progress := a.progressIfChanged(sent)
			ack, err := w.client.Heartbeat(ctx, a.lease.ID, a.lease.Lease.Token, progress)
			switch {
			case ctx.Err() != nil:
				return
			case IsCode(err, CodeLeaseLost) || IsCode(err, CodeNotFound):
				w.log.Printf("task %s: lease lost; stopping its handler", a.lease.ID)
				a.stop(stoppedLeaseLost)
				return
			case err != nil: // the server or the network: keep the handler, try again soon
				w.log.Printf("task %s: heartbeat failed: %v", a.lease.ID, err)
			default:
				if progress != nil {
					sent = progress
				}
				if ack.CancelRequested && a.requestCancel() {
					w.log.Printf("task %s: cancel requested; stopping its handler", a.lease.ID)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// RetryAfter makes a handler's error retry the task after d instead of the backoff (while
// retries are left).
func RetryAfter(d time.Duration, err error) error {
	return &steeredError{err: orFailed(err), after: &d}
}

// Permanent makes a handler's error fail the task at once, to the DLQ, retries left or not.
func Permanent(err error) error {
	return &steeredError{err: orFailed(err), permanent: true}
}

type steeredError struct {
	err       error
	after     *time.Duration
	permanent bool
}

func (e *steeredError) Error() string { return e.err.Error() }
func (e *steeredError) Unwrap() error { return e.err }

func orFailed(err error) error {
	if err == nil {
		return errors.New("failed")
	}
	return err
}

// Progress reports a running task's progress (0-100) from its handler's ctx; the worker
// sends it with a heartbeat soon after. Outside a handler's ctx it does nothing.
func Progress(ctx context.Context, percent float64) {
	if a, ok := ctx.Value(attemptKey{}).(*attempt); ok {
		a.setProgress(percent)
	}
}

type attemptKey struct{}

type stopReason int

const (
	notStopped stopReason = iota
	stoppedLeaseLost
	stoppedForShutdown
)

// attempt is one leased task on this worker.
type attempt struct {
	lease *LeasedTask
	nudge chan struct{} // progress changed: heartbeat soon

	mu              sync.Mutex
	cancel          context.CancelFunc
	why             stopReason
	cancelRequested bool
	progress        *float64
	claimed         bool
}

func newAttempt(lease *LeasedTask) *attempt {
	return &attempt{lease: lease, nudge: make(chan struct{}, 1)}
}

// leaseLength is the lease's length in the server's own times, so this machine's clock skew
// does not matter.
func (a *attempt) leaseLength() time.Duration {
	started := a.lease.Lease.ExpiresAt
	if a.lease.StartedAt != nil {
		started = *a.lease.StartedAt
	}
	if length := a.lease.Lease.ExpiresAt.Sub(started); length > 0 {
		return length
	}
	return 0
}

func (a *attempt) setCancel(cancel context.CancelFunc) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cancel = cancel
	if a.why != notStopped || a.cancelRequested {
		cancel()
	}
}

// stop ends the handler's ctx for why (the first reason stands).
func (a *attempt) stop(why stopReason) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.why == notStopped {
		a.why = why
	}
	if a.cancel != nil {
		a.cancel()
	}
}

// requestCancel ends the handler's ctx for a cancel; false if one was asked before.
func (a *attempt) requestCancel() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancelRequested {
		return false
	}
	a.cancelRequested = true
	if a.cancel != nil {
		a.cancel()
	}
	return true
}

func (a *attempt) stopped() (stopReason, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.why, a.cancelRequested
}

// claim: true for the first caller only, who then reports the attempt's outcome.
func (a *attempt) claim() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.claimed {
		return false
	}
	a.claimed = true
	return true
}

func (a *attempt) setProgress(percent float64) {
	a.mu.Lock()
	a.progress = &percent
	a.mu.Unlock()
	select {
	case a.nudge <- struct{}{}:
	default:
	}
}

func (a *attempt) progressIfChanged(sent *float64) *float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.progress == nil || (sent != nil && *sent == *a.progress) {
		return nil
	}
	value := *a.progress
	return &value
}
