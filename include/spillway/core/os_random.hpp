#pragma once
// Random bytes from the operating system's CSPRNG (getrandom(2)), for whatever someone else must
// not be able to predict: request ids are idempotency keys, so a client that could guess another
// client's next id could make the backend drop that client's request as a repeat.

#include <cstddef>

namespace spillway::core {

// Fills `out` with `size` bytes from getrandom(2). The bytes are drawn in 4 KiB batches into a
// buffer of the calling thread (no lock, one syscall per batch), and every byte is handed out
// once. If the kernel cannot give random bytes, the process ends with a message on stderr:
// there is no predictable fallback.
void os_random_bytes(void* out, std::size_t size);

}  // namespace spillway::core
