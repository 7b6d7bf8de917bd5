// Print the npm MemoryClient's public methods as one JSON array (tests/sdk/test_sdk_surface.py).
//
// Public: the prototype's functions whose names do not start with "_", the constructor aside.
import MemoryClient from "mem0ai";

const names = Object.getOwnPropertyNames(MemoryClient.prototype).filter(
  (name) =>
    name !== "constructor" &&
    !name.startsWith("_") &&
    typeof Object.getOwnPropertyDescriptor(MemoryClient.prototype, name).value === "function",
);
process.stdout.write(JSON.stringify(names.sort()) + "\n");
