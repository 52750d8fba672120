#!/usr/bin/env node
import "../dist/clawrelay.mjs";
