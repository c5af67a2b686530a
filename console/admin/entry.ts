// The admin app's entry, inside the Vite root (console/admin) so the dev server can serve it; the app is in src/admin.
import '../src/admin/main';
