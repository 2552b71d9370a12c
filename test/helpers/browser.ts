import { chromium, type Browser } from 'playwright-core'
import { requirePeer } from './peers.ts'

requirePeer('Chromium')

/** Debian's Chromium (installed by the suite's set-up when missing), headless; never a downloaded browser. */
export async function launchChromium(): Promise<Browser> {
  // playwright gives each launch a fresh, empty profile of its own.
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
