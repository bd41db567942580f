//! Declarative helpers shared by the domain modules.

/// Declares a fieldless enum with a stable snake_case `code()` (stored, used by the API), `parse(code)`
/// and a Chinese `label_zh()` shown as a status tag.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident => ($code:literal, $label:literal)),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Stable machine-readable code (database, API).
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// The value for a stored code.
            pub fn parse(code: &str) -> Option<$name> {
                match code.trim() {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Label for Chinese-speaking users.
            pub fn label_zh(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label_zh())
            }
        }
    };
}
