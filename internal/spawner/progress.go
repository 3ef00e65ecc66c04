package spawner

import (
	"context"
	"html"
	"sync"
)

// eventLog is the progress of one spawn: every event so far, and a signal for watchers. A
// watcher that attaches late gets the whole history first.
type eventLog struct {
	mu     sync.Mutex
	events []Event
	done   bool
	wake   chan struct{} // closed and replaced on every append
}

func newEventLog() *eventLog {
	return &eventLog{wake: make(chan struct{})}
}

// add appends e unless the log is finished. Spawner events never carry ready or failed: only
// finish sets those (upstream strips a spawner's "ready" key).
func (l *eventLog) add(e Event) {
	e.Ready, e.Failed, e.URL = false, false, ""
	l.append(e, false)
}

// finish appends the final event and closes the log.
func (l *eventLog) finish(e Event) { l.append(e, true) }

func (l *eventLog) append(e Event, final bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	l.events = append(l.events, e)
	l.done = final
	close(l.wake)
	l.wake = make(chan struct{})
}

// snapshot returns the events from index i on, whether the log is finished, and a channel
// closed at the next append.
func (l *eventLog) snapshot(i int) ([]Event, bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	if i < len(l.events) {
		out = append(out, l.events[i:]...)
	}
	return out, l.done, l.wake
}

// watch sends every event, past and future, on the returned channel, and closes it after the
// final event or when ctx ends.
func (l *eventLog) watch(ctx context.Context) <-chan Event {
	ch := make(chan Event)
	go func() {
		defer close(ch)
		next := 0
		for {
			evs, done, wake := l.snapshot(next)
			for _, e := range evs {
				select {
				case ch <- e:
				case <-ctx.Done():
					return
				}
			}
			next += len(evs)
			if done {
				return
			}
			select {
			case <-wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// readyEvent is the final event of a successful spawn (protocol.md §1.4).
func readyEvent(url string) Event {
	return Event{
		Progress:    100,
		Ready:       true,
		Message:     "Server ready at " + url,
		HTMLMessage: `Server ready at <a href="` + html.EscapeString(url) + `">` + html.EscapeString(url) + `</a>`,
		URL:         url,
	}
}

// failedEvent is the final event of a failed or cancelled spawn.
func failedEvent(err error, cancelled bool) Event {
	if cancelled {
		return Event{Progress: 100, Failed: true, Message: "Spawn cancelled"}
	}
	msg := "Spawn failed: " + err.Error()
	return Event{Progress: 100, Failed: true, Message: msg, HTMLMessage: html.EscapeString(msg)}
}

// staticLog is a finished log of one event, for a server that is ready or whose spawn failed.
func staticLog(e Event) *eventLog {
	l := newEventLog()
	l.finish(e)
	return l
}
