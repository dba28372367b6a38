import { Worker } from "@taskline/client";

const worker = new Worker({
  url: process.env.TASKLINE_SERVER ?? "http://127.0.0.1:8080",
  apiKey: process.env.TASKLINE_API_KEY,
  handlers: {
    hello: async ({ name }) => ({ greeting: `hello ${name}`, by: "typescript" }),
  },
});

// Ctrl-C or SIGTERM: take no new tasks, let running ones finish, hand back the rest, leave.
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => worker.stop());
await worker.run();
