package taskline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// EventLagged is the notice that events were lost to this reader: it fell behind, or a
// resume asked for events no longer kept. It has no ID.
const EventLagged = "lagged"

// Event is one message of /ws (SPEC §3): {"id", "event", "ts", "task" | "worker" | ...}.
type Event struct {
	ID    string    `json:"id"`
	Event string    `json:"event"` // task.created, task.completed, worker.joined, ..., or EventLagged
	TS    time.Time `json:"ts"`
	// Task is the task as events carry it: without payload, result, metadata and errors.
	Task   *Task       `json:"task,omitempty"`
	Worker *WorkerInfo `json:"worker,omitempty"`
	// Schedule is a schedule.* event's schedule, as GET /api/v1/schedules/{name} gives it but
	// with its task as a summary (type, queue, priority; no payload or metadata).
	Schedule json.RawMessage `json:"schedule,omitempty"`
	// Raw is the whole message as sent, for fields this client does not name.
	Raw json.RawMessage `json:"-"`
}

// WorkerInfo is a worker as the worker registry shows it.
type WorkerInfo struct {
	ID          string    `json:"id"`
	Host        *string   `json:"host"`
	PID         *int      `json:"pid"`
	Queues      []string  `json:"queues"`
	Types       []string  `json:"types"`
	Concurrency *int      `json:"concurrency"`
	Active      int       `json:"active"`
	Processed   int       `json:"processed"`
	Failed      int       `json:"failed"`
	State       string    `json:"state"`
	StartedAt   time.Time `json:"started_at"`
	LastSeen    time.Time `json:"last_seen"`
}

// EventOptions filter an event stream; zero values leave a filter out.
type EventOptions struct {
	Events []string // event names
	TaskID string
	Queue  string
	// Since resumes after this event id: the events after it that are still kept come
	// first (or an EventLagged when they are gone).
	Since string
}

// ErrStreamClosed is what Next returns once the stream was closed by Close or its ctx.
var ErrStreamClosed = errors.New("taskline: event stream closed")

// EventStream is a live stream of events from /ws. A dropped connection is opened again
// with backoff and resumed from the last event delivered (since=), skipping events already
// delivered, so a reader sees each event once; one dropped before any event arrived gives
// an EventLagged, since what happened meanwhile is unknown.
type EventStream struct {
	events chan *Event
	done   chan struct{}
	cancel context.CancelFunc

	mu   sync.Mutex
	err  error
	last string
}

const streamRead = 75 * time.Second // the server pings every 20 s: this long without a frame, the connection is dead

var streamBackoff = []time.Duration{
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second,
}

// Events opens the event stream (GET /ws), which runs until ctx ends or Close. The first
// connection is made before it returns, so a refused key or filter is returned here.
func (c *Client) Events(ctx context.Context, opts EventOptions) (*EventStream, error) {
	ws, err := c.dialEvents(ctx, opts, opts.Since)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &EventStream{events: make(chan *Event, 64), done: make(chan struct{}), cancel: cancel, last: opts.Since}
	go s.run(ctx, c, opts, ws)
	return s, nil
}

// Next returns the next event; the stream's error once it ended (ErrStreamClosed after
// Close), or ctx's error when ctx ends first.
func (s *EventStream) Next(ctx context.Context) (*Event, error) {
	select {
	case event, ok := <-s.events:
		if ok {
			return event, nil
		}
		return nil, s.Err()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// LastID is the id of the last event delivered (or Since): where a new stream would resume.
func (s *EventStream) LastID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Err is why the stream ended: nil while it runs.
func (s *EventStream) Err() error {
	select {
	case <-s.done:
	default:
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the stream, closing its connection; it returns once the stream has stopped.
func (s *EventStream) Close() error {
	s.cancel()
	<-s.done
	return nil
}

func (s *EventStream) finish(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	close(s.done) // before events: a Next that sees events closed finds Err set
	close(s.events)
}

func (s *EventStream) run(ctx context.Context, c *Client, opts EventOptions, ws *wsConn) {
	delivered := newDeliveredSet()
	failures := 0
	for {
		err := s.read(ctx, ws, delivered)
		if ctx.Err() != nil {
			s.finish(ErrStreamClosed)
			return
		}
		if final := refusal(err); final != nil {
			s.finish(final)
			return
		}
		// Dropped before any event said where the stream was: what happens until the next
		// connection is unknown, so the reader hears of it rather than resuming silently.
		if s.LastID() == "" && !s.deliver(ctx, &Event{Event: EventLagged, TS: time.Now().UTC()}) {
			s.finish(ErrStreamClosed)
			return
		}
		for {
			if !s.pause(ctx, streamBackoff[minInt(failures, len(streamBackoff)-1)]) {
				s.finish(ErrStreamClosed)
				return
			}
			failures++
			last := s.LastID()
			dialing, cancel := context.WithTimeout(ctx, 30*time.Second)
			ws, err = c.dialEvents(dialing, opts, last)
			cancel()
			if err == nil {
				failures = 0
				break
			}
			if ctx.Err() != nil {
				s.finish(ErrStreamClosed)
				return
			}
			if final := refusal(err); final != nil {
				s.finish(final)
				return
			}
		}
	}
}

// read delivers the connection's events until it ends, and returns why.
func (s *EventStream) read(ctx context.Context, ws *wsConn, delivered *deliveredSet) error {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			_ = ws.WriteClose(closeNormal, "")
			_ = ws.conn.SetReadDeadline(time.Now().Add(time.Second)) // the server's close, or give up
		case <-stop:
		}
	}()
	defer ws.Close()
	for ctx.Err() == nil { // once closing, the deadline set above stands
		_ = ws.conn.SetReadDeadline(time.Now().Add(streamRead))
		_, message, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		event := &Event{Raw: json.RawMessage(message)}
		if err := json.Unmarshal(message, event); err != nil {
			return fmt.Errorf("taskline: an event that is not JSON: %w", err)
		}
		if event.Event != EventLagged && !delivered.firstTime(event.ID) {
			continue // a resume repeats the events of its millisecond from other streams
		}
		if !s.deliver(ctx, event) {
			return ctx.Err()
		}
	}
	return ctx.Err()
}

func (s *EventStream) deliver(ctx context.Context, event *Event) bool {
	select {
	case s.events <- event:
		if event.ID != "" {
			s.mu.Lock()
			s.last = event.ID
			s.mu.Unlock()
		}
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *EventStream) pause(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// refusal is the error that ends the stream, or nil when reconnecting may cure err: a
// refused key or filter ends it (as an *Error); a drop, a rate limit or a server error not.
func refusal(err error) error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		if apiErr.Status == 429 || apiErr.Status >= 500 {
			return nil
		}
		return apiErr
	}
	var closed *CloseError
	if errors.As(err, &closed) {
		switch {
		case closed.Code == 4401:
			return &Error{Status: 401, Code: CodeUnauthorized, Message: closed.Reason}
		case closed.Code == 1008 && !strings.Contains(closed.Reason, "too many"):
			return &Error{Status: 422, Code: CodeValidation, Message: closed.Reason}
		}
	}
	return nil
}

func (c *Client) dialEvents(ctx context.Context, opts EventOptions, since string) (*wsConn, error) {
	query := url.Values{}
	if len(opts.Events) > 0 {
		query.Set("events", strings.Join(opts.Events, ","))
	}
	for name, value := range map[string]string{"task_id": opts.TaskID, "queue": opts.Queue, "since": since} {
		if value != "" {
			query.Set(name, value)
		}
	}
	target := c.base + "/ws"
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	header := http.Header{"User-Agent": {"taskline-go/" + Version}}
	if c.apiKey != "" {
		// In a header, not ?api_key=: a URL ends up in proxies' and servers' access logs.
		header.Set("Authorization", "Bearer "+c.apiKey)
	}
	return dialWebSocket(ctx, target, header)
}

// deliveredSet remembers the ids lately delivered, the oldest forgotten first.
type deliveredSet struct {
	ids   map[string]struct{}
	order []string
}

const rememberedIDs = 10000 // a resume repeats at most one millisecond's worth

func newDeliveredSet() *deliveredSet { return &deliveredSet{ids: map[string]struct{}{}} }

func (d *deliveredSet) firstTime(id string) bool {
	if _, seen := d.ids[id]; seen {
		return false
	}
	d.ids[id] = struct{}{}
	d.order = append(d.order, id)
	if len(d.order) > rememberedIDs {
		delete(d.ids, d.order[0])
		d.order = d.order[1:]
	}
	return true
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}
