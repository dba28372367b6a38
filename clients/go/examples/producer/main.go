// The producer example: submit one hello task and print its greeting once a worker ran it.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	taskline "github.com/taskline/taskline/clients/go"
)

func main() {
	server := os.Getenv("TASKLINE_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	client := taskline.NewClient(server, taskline.WithAPIKey(os.Getenv("TASKLINE_API_KEY")))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	task, err := client.Submit(ctx, "hello", map[string]string{"name": "Ada"})
	if err != nil {
		log.Fatal(err)
	}
	done, err := client.Wait(ctx, task.ID)
	if err != nil {
		log.Fatal(err)
	}
	if done.State != taskline.StateCompleted {
		log.Fatalf("task %s ended %s", done.ID, done.State)
	}
	var result struct {
		Greeting string `json:"greeting"`
		By       string `json:"by"`
	}
	if err := done.DecodeResult(&result); err != nil {
		log.Fatal(err)
	}
	fmt.Println(result.Greeting)
}
