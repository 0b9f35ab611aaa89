use similar::TextDiff;

/// A unified diff of `old` -> `new` with 3 lines of context, headed with the
/// file path (`/dev/null` for a side that does not exist).
pub fn unified_diff(path: &str, old: Option<&str>, new: &str) -> String {
    let a = if old.is_some() {
        format!("a{path}")
    } else {
        "/dev/null".to_string()
    };
    let b = format!("b{path}");
    TextDiff::from_lines(old.unwrap_or(""), new)
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_of_changed_line() {
        let d = unified_diff("/etc/x.conf", Some("a = 1\nb = 2\n"), "a = 1\nb = 3\n");
        assert_eq!(
            d,
            "--- a/etc/x.conf\n+++ b/etc/x.conf\n@@ -1,2 +1,2 @@\n a = 1\n-b = 2\n+b = 3\n"
        );
    }

    #[test]
    fn diff_of_new_file() {
        let d = unified_diff("/etc/x.conf", None, "a = 1\n");
        assert_eq!(d, "--- /dev/null\n+++ b/etc/x.conf\n@@ -0,0 +1 @@\n+a = 1\n");
    }
}
