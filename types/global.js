// `import 'signet-tracker/global'` for its types (window._gs) resolves to this empty module at run time.
export {}
