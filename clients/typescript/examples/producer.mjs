import { Client } from "@taskline/client";

const client = new Client({
  url: process.env.TASKLINE_SERVER ?? "http://127.0.0.1:8080",
  apiKey: process.env.TASKLINE_API_KEY,
});

const task = await client.submit("hello", { name: "world" });
const done = await client.wait(task.id, { timeout: 30 });
if (done.state !== "completed") throw new Error(`task ${done.id} ended ${done.state}: ${done.error}`);
console.log(done.result.greeting);
