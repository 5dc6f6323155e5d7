'use strict';
// Drives one headless Firefox tab for a Go test, over WebDriver BiDi with
// puppeteer-core (no geckodriver). Usage: node firefox.cjs URL, with
// PARLEY_NODE_MODULES naming the node_modules folder that has
// puppeteer-core and FIREFOX the browser to run. It prints {"ready":true}
// once the page has loaded; then it evaluates each line of its input as a
// JavaScript expression in the page and prints one line for it:
// {"value": …} or {"error": "…"}. It closes Firefox at the end of input.

const path = require('path');
const readline = require('readline');
const puppeteer = require(path.join(process.env.PARLEY_NODE_MODULES, 'puppeteer-core'));

const print = (v) => process.stdout.write(JSON.stringify(v) + '\n');

async function main() {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: process.env.FIREFOX,
    headless: true,
    extraPrefsFirefox: {
      // A fake camera and microphone, allowed without asking.
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      // Sound may play without a click, as in the Chromium tests.
      'media.autoplay.default': 0,
      'media.autoplay.blocking_policy': 0,
      // ICE on a machine without internet: every interface's raw
      // address, not only the default route's, and no mDNS names.
      // Firefox gathers no UDP candidate on loopback (even with
      // media.peerconnection.ice.loopback), so the machine needs an
      // interface with a default route: OpenFirefox checks.
      'media.peerconnection.ice.default_address_only': false,
      'media.peerconnection.ice.obfuscate_host_addresses': false,
    },
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => process.stderr.write('console: ' + m.text() + '\n'));
    await page.goto(process.argv[2]);
    print({ ready: true });
    for await (const line of readline.createInterface({ input: process.stdin })) {
      try {
        const value = await page.evaluate(line);
        print({ value: value === undefined ? null : value });
      } catch (err) {
        print({ error: String((err && err.message) || err) });
      }
    }
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + '\n');
  process.exit(1);
});
