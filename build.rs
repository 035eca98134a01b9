// Migrations are embedded by `sqlx::migrate!`; without this, a new file in
// `migrations/` would not trigger a rebuild and would silently be left out.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
