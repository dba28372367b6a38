package taskline

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// nextEvent reads one event, failing the test after ten seconds without one.
func nextEvent(t *testing.T, s *EventStream) *Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return must(s.Next(ctx))(t)
}

func TestEventsStreamLiveAndResumeWithSince(t *testing.T) {
	c, ctx := liveClient(t), testContext(t)
	queue := uniqueName("go-events")
	stream := must(c.Events(ctx, EventOptions{Queue: queue, Events: []string{"task.created", "task.cancelled"}}))(t)
	defer stream.Close()

	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, must(c.Submit(ctx, "go.event", map[string]int{"i": i}, Queue(queue), Delay(time.Hour)))(t).ID)
	}
	must(c.Cancel(ctx, ids[2]))(t)
	var seen []*Event
	for len(seen) < 4 {
		seen = append(seen, nextEvent(t, stream))
	}
	for i, event := range seen[:3] {
		if event.Event != "task.created" || event.Task == nil || event.Task.ID != ids[i] || event.ID == "" || event.TS.IsZero() {
			t.Fatalf("event %d: %s", i, event.Raw)
		}
	}
	if seen[3].Event != "task.cancelled" || seen[3].Task.ID != ids[2] || stream.LastID() != seen[3].ID {
		t.Fatalf("event 3: %s (last id %s)", seen[3].Raw, stream.LastID())
	}
	if err := stream.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Next(ctx); err != ErrStreamClosed {
		t.Fatalf("Next after Close: %v", err)
	}

	// Since: the events after the first, replayed; a task filter on top.
	resumed := must(c.Events(ctx, EventOptions{Queue: queue, Since: seen[0].ID, TaskID: ids[2]}))(t)
	defer resumed.Close()
	for _, want := range []string{"task.created", "task.cancelled"} {
		if event := nextEvent(t, resumed); event.Event != want || event.Task.ID != ids[2] {
			t.Fatalf("replayed %s, want %s of %s", event.Raw, want, ids[2])
		}
	}
}

func TestEventsRefusalsAreErrors(t *testing.T) {
	url, ctx := serverURL(t), testContext(t)
	_, err := NewClient(url, WithAPIKey("not-a-key")).Events(ctx, EventOptions{})
	wantCode(t, err, 401, CodeUnauthorized)
	_, err = liveClient(t).Events(ctx, EventOptions{Events: []string{"no.such.event"}})
	wantCode(t, err, 422, CodeValidation)
	_, err = liveClient(t).Events(ctx, EventOptions{Since: "not-an-id"})
	wantCode(t, err, 422, CodeValidation)
}

// A dropped stream is opened again with since= the last event delivered, and what the
// resume repeats is skipped: against a stand-in server, since the live one is not dropped.
func TestADroppedStreamResumesWithoutRepeats(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	url := wsServer(t, nil, func(p *peer, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		connection := len(queries)
		mu.Unlock()
		send := func(id string) {
			message, _ := json.Marshal(map[string]string{"id": id, "event": "task.created", "ts": "2026-12-02T04:00:00.000Z"})
			p.writeFrame(true, opText, message)
		}
		switch connection {
		case 1:
			send("1-0")
			send("1-1") // then the connection drops
		case 2:
			send("1-1") // the resume repeats its millisecond
			send("2-0")
			p.expectClose(closeNormal)
		}
	})
	c := NewClient("http" + url[len("ws"):len(url)-len("/ws")])
	stream := must(c.Events(testContext(t), EventOptions{Queue: "q"}))(t)
	var ids []string
	for len(ids) < 3 {
		ids = append(ids, nextEvent(t, stream).ID)
	}
	if fmt.Sprint(ids) != "[1-0 1-1 2-0]" {
		t.Fatalf("delivered %v", ids)
	}
	stream.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(queries) != 2 || queries[0] != "queue=q" || queries[1] != "queue=q&since=1-1" {
		t.Fatalf("connections asked %q", queries)
	}
}

// A stream dropped before any event cannot say where to resume: the reader hears of it.
func TestADropBeforeAnyEventIsALaggedNotice(t *testing.T) {
	var mu sync.Mutex
	connections := 0
	url := wsServer(t, nil, func(p *peer, r *http.Request) {
		mu.Lock()
		connections++
		first := connections == 1
		mu.Unlock()
		if !first {
			p.writeFrame(true, opText, []byte(`{"id": "5-0", "event": "task.created", "ts": "2026-12-02T04:00:00.000Z"}`))
			p.expectClose(closeNormal)
		}
	})
	c := NewClient("http" + url[len("ws"):len(url)-len("/ws")])
	stream := must(c.Events(testContext(t), EventOptions{}))(t)
	defer stream.Close()
	if event := nextEvent(t, stream); event.Event != EventLagged || event.ID != "" {
		t.Fatalf("want a lagged notice first, got %s %q", event.Event, event.ID)
	}
	if event := nextEvent(t, stream); event.ID != "5-0" {
		t.Fatalf("then the next connection's event, got %q", event.ID)
	}
}
