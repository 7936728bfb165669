// signet-tracker/server is loaded by Node as installed, not bundled: it reads its own tracker.js
// from the package, and its database drivers (for the reference collector) are optional packages a
// bundler would look for and not find.
export default { serverExternalPackages: ['signet-tracker'] }
