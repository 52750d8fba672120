// fetch for the bench's own requests. A keep-alive connection the server has just closed fails
// the next request on it with "other side closed" before the server read it; such a request is
// sent again once, on a fresh connection (signed requests are signed again: a fresh nonce).

function isStaleConnection(error) {
  const code = error?.cause?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET";
}

export const retried = { count: 0 };

/** `makeRequest()` returns fetch's promise; called again (once) after a stale-connection failure. */
export async function fetchOnceMore(makeRequest) {
  try {
    return await makeRequest();
  } catch (error) {
    if (!isStaleConnection(error)) throw error;
    retried.count++;
    return await makeRequest();
  }
}
