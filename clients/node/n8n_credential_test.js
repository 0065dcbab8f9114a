// What Chronicle's n8n node does to test a credential before saving it: GET /api/v1
// with the key in X-API-Key; 2xx means good, 401 means bad. Plain fetch, as n8n's
// request helper sends it. Prints the statuses and bodies as JSON.
//   node n8n_credential_test.js BASE_URL GOOD_KEY BAD_KEY
"use strict";

async function check(baseUrl, key) {
  const answer = await fetch(`${baseUrl}/api/v1`, {
    headers: { "X-API-Key": key, Accept: "application/json" },
  });
  return { status: answer.status, body: await answer.json() };
}

async function main() {
  const [baseUrl, good, bad] = process.argv.slice(2);
  if (!bad) throw new Error("usage: n8n_credential_test.js BASE_URL GOOD_KEY BAD_KEY");
  console.log(JSON.stringify({ good: await check(baseUrl, good), bad: await check(baseUrl, bad) }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
