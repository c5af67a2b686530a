// The customer console's entry, inside the Vite root (console/console) so the dev server can serve it; the app is in
// src/console.
import '../src/console/main';
