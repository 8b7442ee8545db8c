import { test } from "node:test";
import assert from "node:assert/strict";
import { hostCheck, hostName } from "../src/server/host.js";

test("hostName: lower case, without port, brackets or trailing dot", () => {
  assert.equal(hostName("LocalHost:8080"), "localhost");
  assert.equal(hostName("[::1]:80"), "::1");
  assert.equal(hostName("::1"), "::1");
  assert.equal(hostName("ner.example."), "ner.example");
});

test("hostCheck: bound address, loopback names on loopback, IP addresses on 0.0.0.0, and the allow-list", () => {
  const loop = hostCheck("127.0.0.1");
  for (const h of ["127.0.0.1:8080", "localhost", "[::1]:8080", undefined]) assert.ok(loop.test(h), String(h));
  for (const h of ["192.168.1.5", "evil.example", "localhost.evil.example", ""]) assert.ok(!loop.test(h), h);

  const lan = hostCheck("192.168.1.5", ["ner.example"]);
  for (const h of ["192.168.1.5:8080", "ner.example", "NER.example:443"]) assert.ok(lan.test(h), h);
  for (const h of ["localhost", "127.0.0.1", "10.0.0.1", "evil.example"]) assert.ok(!lan.test(h), h);

  const all = hostCheck("0.0.0.0");
  for (const h of ["10.0.0.1:8080", "[fe80::1]", "localhost"]) assert.ok(all.test(h), h);
  for (const h of ["evil.example", "0.0.0.0.evil.example"]) assert.ok(!all.test(h), h);
  assert.deepEqual(all.allowed, ["localhost", "127.0.0.1", "::1", "any IP address"]);

  assert.throws(() => hostCheck("127.0.0.1", ["a b"]), /allowed host "a b" is not a host name/);
});
