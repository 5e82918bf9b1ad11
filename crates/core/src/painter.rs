//! The 8×8 painters' keyboard: which key moves the cursor where and which paints, and how the
//! pixel under the cursor is said aloud. The pixel attack's painter and the backdoor's trigger
//! painter share it, so a learner without a mouse paints the same way in both.

/// Pixels per side of the painters' images.
pub const SIDE: u32 = 8;

/// What a painter's keys and clicks do to a pixel; each painter says what that means for it
/// (the pixel attack: ink, erase, or the chosen tool; the trigger: add, remove, or toggle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stroke {
    /// A click, Space or Enter: what the painter's chosen tool does.
    Apply,
    /// `+`: the pixel up (ink; add to the trigger).
    Raise,
    /// `-`: the pixel down (erase; take out of the trigger).
    Lower,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAction {
    /// The cursor goes to this pixel.
    Move(u32),
    Stroke(Stroke),
}

/// The keys, in words, for the painter's label and the help dialog.
pub const KEYS: &str = "Arrow keys move the cursor, Home and End go to the row's ends; Space or Enter paints with the chosen tool, + raises the pixel and − lowers it.";

/// What `key` (a KeyboardEvent's `key`) does with the cursor at `cursor`; `None` for a key the
/// painter leaves to the page (Tab, shortcuts). At an edge the cursor stays where it is.
pub fn key_action(key: &str, cursor: u32) -> Option<KeyAction> {
    let (row, column) = (cursor / SIDE, cursor % SIDE);
    let to = |row: u32, column: u32| Some(KeyAction::Move(row * SIDE + column));
    match key {
        "ArrowLeft" => to(row, column.saturating_sub(1)),
        "ArrowRight" => to(row, (column + 1).min(SIDE - 1)),
        "ArrowUp" => to(row.saturating_sub(1), column),
        "ArrowDown" => to((row + 1).min(SIDE - 1), column),
        "Home" => to(row, 0),
        "End" => to(row, SIDE - 1),
        " " | "Enter" => Some(KeyAction::Stroke(Stroke::Apply)),
        "+" | "=" => Some(KeyAction::Stroke(Stroke::Raise)),
        "-" | "_" | "−" => Some(KeyAction::Stroke(Stroke::Lower)),
        _ => None,
    }
}

/// The pixel under the cursor in words: "row 3, column 5: 0.75, changed".
pub fn describe(pixel: u32, value: f32, marked: bool, marked_word: &str) -> String {
    let mut s = format!(
        "row {}, column {}: {value:.2}",
        pixel / SIDE + 1,
        pixel % SIDE + 1
    );
    if marked {
        s.push_str(", ");
        s.push_str(marked_word);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_move_the_cursor_and_stop_at_the_edges() {
        let moved = |key, from| match key_action(key, from) {
            Some(KeyAction::Move(p)) => p,
            other => panic!("{key}: {other:?}"),
        };
        assert_eq!(moved("ArrowRight", 0), 1);
        assert_eq!(moved("ArrowDown", 0), 8);
        assert_eq!(moved("ArrowLeft", 0), 0);
        assert_eq!(moved("ArrowUp", 3), 3);
        // The right edge does not wrap onto the next row.
        assert_eq!(moved("ArrowRight", 7), 7);
        assert_eq!(moved("ArrowDown", 60), 60);
        assert_eq!(moved("Home", 13), 8);
        assert_eq!(moved("End", 13), 15);
    }

    #[test]
    fn keys_paint_and_other_keys_are_left_to_the_page() {
        assert_eq!(key_action(" ", 5), Some(KeyAction::Stroke(Stroke::Apply)));
        assert_eq!(
            key_action("Enter", 5),
            Some(KeyAction::Stroke(Stroke::Apply))
        );
        assert_eq!(key_action("+", 5), Some(KeyAction::Stroke(Stroke::Raise)));
        assert_eq!(key_action("-", 5), Some(KeyAction::Stroke(Stroke::Lower)));
        assert_eq!(key_action("Tab", 5), None);
        assert_eq!(key_action("n", 5), None);
        assert_eq!(
            describe(13, 0.75, true, "changed"),
            "row 2, column 6: 0.75, changed"
        );
        assert_eq!(describe(0, 0.0, false, "changed"), "row 1, column 1: 0.00");
    }
}
