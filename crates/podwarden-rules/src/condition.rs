//! Falco's condition language: the syntax tree and its parser (`not` binds tighter than `and`,
//! `and` tighter than `or`; checks are `field op value`, bare identifiers are macros).

use std::fmt;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ast {
    And(Vec<Ast>),
    Or(Vec<Ast>),
    Not(Box<Ast>),
    /// A macro reference, substituted before compilation.
    Macro(String),
    Check(CheckAst),
}

/// `field op value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CheckAst {
    pub field: FieldName,
    pub op: Op,
    pub rhs: Rhs,
}

/// A field as written: `proc.aname[2]` is name `proc.aname`, argument `2`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FieldName {
    pub name: String,
    pub arg: Option<String>,
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.arg {
            Some(arg) => write!(f, "{}[{}]", self.name, arg),
            None => f.write_str(&self.name),
        }
    }
}

/// The right-hand side of a check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rhs {
    /// `exists` has none.
    None,
    Value(Literal),
    List(Vec<Literal>),
}

/// A value as written; an unquoted list item may name a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Literal {
    pub text: String,
    pub quoted: bool,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    Regex,
    In,
    Intersects,
    PMatch,
    Exists,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::Regex => "regex",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::PMatch => "pmatch",
            Op::Exists => "exists",
        }
    }

    /// Parse an operator as written in exception `comps`.
    pub fn from_name(name: &str) -> Option<Op> {
        Some(match name {
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "bcontains" => Op::BContains,
            "startswith" => Op::StartsWith,
            "bstartswith" => Op::BStartsWith,
            "endswith" => Op::EndsWith,
            "glob" => Op::Glob,
            "iglob" => Op::IGlob,
            "regex" => Op::Regex,
            "in" => Op::In,
            "intersects" => Op::Intersects,
            "pmatch" => Op::PMatch,
            "exists" => Op::Exists,
            _ => return None,
        })
    }

    /// Whether the operator takes a list of values.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch)
    }
}

/// A syntax error at a byte offset of the condition text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub offset: usize,
    pub message: String,
}

/// Deepest nesting of parentheses and `not` accepted (stack safety on hostile input).
const MAX_DEPTH: usize = 200;

/// Parse a condition.
pub(crate) fn parse(text: &str) -> Result<Ast, ParseError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let ast = parser.or_expr()?;
    parser.skip_ws();
    if parser.pos < parser.bytes.len() {
        return Err(parser.error(format!("unexpected `{}`", parser.snippet())));
    }
    Ok(ast)
}

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    depth: usize,
}

const WORD_OPS: [(&str, Op); 13] = [
    ("exists", Op::Exists),
    ("intersects", Op::Intersects),
    ("in", Op::In),
    ("pmatch", Op::PMatch),
    ("icontains", Op::IContains),
    ("bcontains", Op::BContains),
    ("contains", Op::Contains),
    ("bstartswith", Op::BStartsWith),
    ("startswith", Op::StartsWith),
    ("endswith", Op::EndsWith),
    ("iglob", Op::IGlob),
    ("glob", Op::Glob),
    ("regex", Op::Regex),
];

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'t> Parser<'t> {
    fn error(&self, message: String) -> ParseError {
        ParseError {
            offset: self.pos,
            message,
        }
    }

    fn snippet(&self) -> String {
        let rest = self.text.get(self.pos..).unwrap_or_default();
        rest.chars().take(24).collect()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Consume `word` if it is next and ends at a word boundary.
    fn keyword(&mut self, word: &str) -> bool {
        self.skip_ws();
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end) == Some(word.as_bytes())
            && !self
                .bytes
                .get(end)
                .copied()
                .is_some_and(|b| is_ident_byte(b) || b == b'.')
        {
            self.pos = end;
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Ast, ParseError> {
        let mut terms = vec![self.and_expr()?];
        while self.keyword("or") {
            terms.push(self.and_expr()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Ast::Or(Vec::new()))
        } else {
            Ast::Or(terms)
        })
    }

    fn and_expr(&mut self) -> Result<Ast, ParseError> {
        let mut terms = vec![self.not_expr()?];
        while self.keyword("and") {
            terms.push(self.not_expr()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Ast::And(Vec::new()))
        } else {
            Ast::And(terms)
        })
    }

    fn not_expr(&mut self) -> Result<Ast, ParseError> {
        if self.keyword("not") {
            self.enter()?;
            let inner = self.not_expr()?;
            self.depth -= 1;
            return Ok(Ast::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Ast, ParseError> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.error("unexpected end of condition".to_string())),
            Some(b'(') => {
                self.pos += 1;
                self.enter()?;
                let inner = self.or_expr()?;
                self.depth -= 1;
                self.skip_ws();
                if self.peek() != Some(b')') {
                    return Err(self.error("expected `)`".to_string()));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => self.check_or_macro(),
            Some(_) => Err(self.error(format!(
                "expected a field, a macro or `(`, found `{}`",
                self.snippet()
            ))),
        }
    }

    fn identifier(&mut self) -> &'t str {
        let start = self.pos;
        while self.peek().is_some_and(is_ident_byte) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }

    fn check_or_macro(&mut self) -> Result<Ast, ParseError> {
        let start = self.pos;
        let first = self.identifier();
        if self.peek() == Some(b'(') {
            return Err(self.error(format!(
                "`{first}(...)`: field transformers are not supported"
            )));
        }
        if self.peek() != Some(b'.') {
            if first == "and" || first == "or" || first == "not" {
                self.pos = start;
                return Err(self.error(format!("unexpected `{first}`")));
            }
            return Ok(Ast::Macro(first.to_string()));
        }
        while self.peek() == Some(b'.') {
            self.pos += 1;
            let segment = self.identifier();
            if segment.is_empty() {
                return Err(self.error("field name ends with `.`".to_string()));
            }
        }
        let name = self
            .text
            .get(start..self.pos)
            .unwrap_or_default()
            .to_string();
        let arg = if self.peek() == Some(b'[') {
            self.pos += 1;
            let arg = match self.peek() {
                Some(b'"' | b'\'') => self.quoted()?,
                _ => {
                    let arg_start = self.pos;
                    while self
                        .peek()
                        .is_some_and(|b| b != b']' && !b.is_ascii_whitespace())
                    {
                        self.pos += 1;
                    }
                    self.text
                        .get(arg_start..self.pos)
                        .unwrap_or_default()
                        .to_string()
                }
            };
            if self.peek() != Some(b']') {
                return Err(self.error("expected `]` after the field argument".to_string()));
            }
            self.pos += 1;
            Some(arg)
        } else {
            None
        };
        let field = FieldName { name, arg };
        let op = self.operator().ok_or_else(|| {
            self.error(format!(
                "expected an operator after `{field}`, found `{}`",
                self.snippet()
            ))
        })?;
        let rhs = match op {
            Op::Exists => Rhs::None,
            op if op.takes_list() => Rhs::List(self.list()?),
            _ => Rhs::Value(self.value()?),
        };
        Ok(Ast::Check(CheckAst { field, op, rhs }))
    }

    fn operator(&mut self) -> Option<Op> {
        self.skip_ws();
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        for (symbol, op) in [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("=", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ] {
            if rest.starts_with(symbol.as_bytes()) {
                self.pos += symbol.len();
                return Some(op);
            }
        }
        for (word, op) in WORD_OPS {
            if self.keyword(word) {
                return Some(op);
            }
        }
        None
    }

    fn quoted(&mut self) -> Result<String, ParseError> {
        let quote = self.peek().unwrap_or(b'"');
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.text.get(self.pos..).unwrap_or_default().char_indices();
        while let Some((index, c)) = chars.next() {
            if c as u32 == u32::from(quote) {
                self.pos += index + 1;
                return Ok(out);
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, e @ ('\\' | '"' | '\''))) => out.push(e),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                }
            } else {
                out.push(c);
            }
        }
        self.pos = start;
        Err(self.error("unterminated quoted string".to_string()))
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        self.skip_ws();
        match self.peek() {
            Some(b'"' | b'\'') => Ok(Literal {
                text: self.quoted()?,
                quoted: true,
            }),
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|b| {
                    !b.is_ascii_whitespace() && !matches!(b, b'(' | b')' | b',' | b'"' | b'\'')
                }) {
                    self.pos += 1;
                }
                let text = self.text.get(start..self.pos).unwrap_or_default();
                if text.is_empty() {
                    return Err(self.error(format!("expected a value, found `{}`", self.snippet())));
                }
                if self.peek() == Some(b'(')
                    && matches!(
                        text,
                        "val" | "tolower" | "toupper" | "b64" | "basename" | "len"
                    )
                {
                    return Err(self.error(format!(
                        "`{text}(...)`: field transformers are not supported"
                    )));
                }
                Ok(Literal {
                    text: text.to_string(),
                    quoted: false,
                })
            }
        }
    }

    fn value(&mut self) -> Result<Literal, ParseError> {
        self.literal()
    }

    fn list(&mut self) -> Result<Vec<Literal>, ParseError> {
        self.skip_ws();
        if self.peek() != Some(b'(') {
            // `in list_name` without parentheses: a single item, expanded if it names a list.
            return Ok(vec![self.literal()?]);
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b')') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.literal()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => {
                    return Err(self.error(format!(
                        "expected `,` or `)` in a list, found `{}`",
                        self.snippet()
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &str) {
        let got = match parse(text) {
            Ok(ast) => render(&ast),
            Err(err) => format!("error@{}: {}", err.offset, err.message),
        };
        assert_eq!(got, expected, "condition: {text}");
    }

    fn render(ast: &Ast) -> String {
        match ast {
            Ast::And(terms) => format!(
                "and({})",
                terms.iter().map(render).collect::<Vec<_>>().join(", ")
            ),
            Ast::Or(terms) => format!(
                "or({})",
                terms.iter().map(render).collect::<Vec<_>>().join(", ")
            ),
            Ast::Not(inner) => format!("not({})", render(inner)),
            Ast::Macro(name) => format!("@{name}"),
            Ast::Check(check) => {
                let rhs = match &check.rhs {
                    Rhs::None => String::new(),
                    Rhs::Value(v) => format!(" {}", lit(v)),
                    Rhs::List(items) => {
                        format!(" [{}]", items.iter().map(lit).collect::<Vec<_>>().join("|"))
                    }
                };
                format!("{} {}{}", check.field, check.op.as_str(), rhs)
            }
        }
    }

    fn lit(l: &Literal) -> String {
        if l.quoted {
            format!("'{}'", l.text)
        } else {
            l.text.clone()
        }
    }

    #[test]
    fn grammar() {
        check("proc.name=bash", "proc.name = bash");
        check("a or b and not c", "or(@a, and(@b, not(@c)))");
        check("not a and b", "and(not(@a), @b)");
        check("(a or b) and c", "and(or(@a, @b), @c)");
        check(
            "proc.aname[2] startswith java",
            "proc.aname[2] startswith java",
        );
        check(
            "proc.name in (bash, \"sh x\", 'a\\'b')",
            "proc.name in [bash|'sh x'|'a'b']",
        );
        check("fd.num>=0 and evt.num=0", "and(fd.num >= 0, evt.num = 0)");
        check("proc.pname exists", "proc.pname exists");
        check("evt.type in ()", "evt.type in []");
        check(
            "proc.pname in (runc:[0:PARENT], a/b)",
            "proc.pname in [runc:[0:PARENT]|a/b]",
        );
        check(
            "proc.name in shell_binaries",
            "proc.name in [shell_binaries]",
        );
        check("notice or ornate", "or(@notice, @ornate)");
        check("not(proc.name = x)", "not(proc.name = x)");
        check("proc.env[HOME] == \"/root\"", "proc.env[HOME] = '/root'");
        check("proc.name=", "error@10: expected a value, found ``");
        check("(a or b", "error@7: expected `)`");
        check(
            "proc.name bash",
            "error@10: expected an operator after `proc.name`, found `bash`",
        );
        check(
            "tolower(proc.name) = x",
            "error@7: `tolower(...)`: field transformers are not supported",
        );
        check("a and", "error@5: unexpected end of condition");
        check(
            "proc.cmdline contains \"unterminated",
            "error@22: unterminated quoted string",
        );
    }
}
