// The worker example: run hello tasks until SIGINT or SIGTERM, then stop gracefully.
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"

	taskline "github.com/taskline/taskline/clients/go"
)

func main() {
	server := os.Getenv("TASKLINE_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	client := taskline.NewClient(server, taskline.WithAPIKey(os.Getenv("TASKLINE_API_KEY")))

	worker := taskline.NewWorker(client, taskline.WorkerOptions{Concurrency: 4})
	worker.Handle("hello", func(ctx context.Context, task *taskline.Task) (any, error) {
		var payload struct {
			Name string `json:"name"`
		}
		if err := task.DecodePayload(&payload); err != nil {
			return nil, taskline.Permanent(err) // retrying would not help
		}
		return map[string]string{"greeting": "hello " + payload.Name, "by": "go"}, nil
	})

	// SIGINT or SIGTERM ends ctx: the worker takes no more tasks, lets running ones
	// finish, hands back any that do not, and Run returns.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := worker.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
