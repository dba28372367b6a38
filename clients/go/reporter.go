package taskline

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// reporter sends a worker's outcomes to POST /api/v1/outcomes one batch at a time: outcomes
// that end while a batch is on its way go together in the next, and each batch asks for as
// many new leases as the worker will have room for once its outcomes are in. A busy worker
// so takes its next task with the outcome of its last, and polls only when that brought
// nothing (the Python worker's reporting.Reporter, the same way).
type reporter struct {
	w       *Worker
	in      chan *report
	stopped <-chan struct{}
}

type report struct {
	outcome Outcome
	done    chan reportAnswer // buffered: the reporter never waits on it
}

type reportAnswer struct {
	settled Settled
	err     error
}

const maxOutcomes = 1000 // the most outcomes one batch carries

var errReporterStopped = errors.New("taskline: the worker stopped reporting before the server answered")

// report sends outcome in the next batch and returns what became of it.
func (r *reporter) report(outcome Outcome) (Settled, error) {
	item := &report{outcome: outcome, done: make(chan reportAnswer, 1)}
	select {
	case r.in <- item:
	case <-r.stopped:
		return Settled{}, errReporterStopped
	}
	answer := <-item.done // the reporter answers whatever it took
	return answer.settled, answer.err
}

// run sends batches until ctx ends.
func (r *reporter) run(ctx context.Context) {
	for {
		var batch []*report
		select {
		case <-ctx.Done():
			return
		case item := <-r.in:
			batch = append(batch, item)
		}
	gather:
		for len(batch) < maxOutcomes {
			select {
			case item := <-r.in:
				batch = append(batch, item)
			default:
				break gather
			}
		}
		r.send(batch)
	}
}

func (r *reporter) send(batch []*report) {
	outcomes := make([]Outcome, len(batch))
	for i, item := range batch {
		outcomes[i] = item.outcome
	}
	ask := r.w.nextLeases(len(batch))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	settled, leases, err := r.w.client.ReportOutcomes(ctx, outcomes, ask)
	cancel()
	if ask != nil {
		r.w.arrived(leases, ask.Max)
	}
	if err == nil && len(settled) != len(batch) { // never from a sound server; the outcomes may be lost
		err = fmt.Errorf("taskline: the server answered %d of %d outcomes", len(settled), len(batch))
	}
	if err != nil {
		if (IsCode(err, CodeValidation) || IsCode(err, CodePayloadTooLarge)) && len(batch) > 1 {
			// One outcome the server refuses (an error too long, a result too big) must not
			// lose the others with it: each goes again on its own.
			for _, item := range batch {
				r.send([]*report{item})
			}
			return
		}
		for _, item := range batch {
			item.done <- reportAnswer{err: err}
		}
		return
	}
	for i, item := range batch {
		item.done <- reportAnswer{settled: settled[i]}
	}
}

// nextLeases is what a report of `finishing` outcomes asks leased: a slot for each slot free
// once they are in (their handlers have returned); nil while stopping or paused.
func (w *Worker) nextLeases(finishing int) *LeaseAsk {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopping || w.paused {
		return nil
	}
	room := w.opts.Concurrency - (len(w.running) - finishing) - w.asked
	if room > maxNext {
		room = maxNext
	}
	if room <= 0 {
		return nil
	}
	w.asked += room
	return &LeaseAsk{WorkerID: w.opts.ID, Max: room, Queues: w.opts.Queues, Types: w.types}
}
