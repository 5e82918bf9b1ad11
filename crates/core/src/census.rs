//! Track C's census data: 2,000 people of the UCI Adult data set shipped in
//! `assets/adult/adult.tsv.gz` (CC BY 4.0; see its ATTRIBUTION.md), and the features the census
//! model reads from a person. The model itself is the lab's sparse logistic regression
//! ([`crate::spam::LogisticRegression`]) over those features.

use crate::{Error, Result};
use std::collections::BTreeSet;

pub const ROWS: usize = 2000;
/// SHA-256 of the shipped `adult.tsv.gz`; receipts name the data by it.
pub const CENSUS_SHA256: &str = "9cf1a75c2cb08a23cc919c0fbbfcd6f18f07a80922497580db7f24a16ccaa648";
/// The attributes, in the file's order (the income column follows them).
pub const ATTRIBUTES: [&str; 9] = [
    "age",
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "race",
    "sex",
    "hours_per_week",
    "native_country",
];

/// One person: the attributes as written, in [`ATTRIBUTES`] order, and whether the income is
/// above $50K.
#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    pub values: Vec<String>,
    pub rich: bool,
}

#[derive(Clone, Debug)]
pub struct Census {
    pub people: Vec<Person>,
}

impl Census {
    pub fn from_tsv_gz(bytes: &[u8]) -> Result<Self> {
        let text = crate::gunzip_text(bytes, "adult.tsv.gz")?;
        Self::from_tsv(&text)
    }

    pub fn from_tsv(text: &str) -> Result<Self> {
        let bad =
            |line: usize, why: String| Error::Data(format!("adult.tsv.gz, line {line}: {why}"));
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        if header[..header.len().saturating_sub(1)] != ATTRIBUTES[..]
            || header.last() != Some(&"income")
        {
            return Err(bad(1, "the header is not the lab's ten columns".into()));
        }
        let mut people = Vec::new();
        for (n, line) in lines.enumerate() {
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() != ATTRIBUTES.len() + 1 {
                return Err(bad(
                    n + 2,
                    format!("expected 10 tab-separated values, found {}", fields.len()),
                ));
            }
            for (i, name) in [(0, "age"), (7, "hours_per_week")] {
                if fields[i].parse::<u32>().is_err() {
                    return Err(bad(
                        n + 2,
                        format!("{name} is {:?}, not a whole number", fields[i]),
                    ));
                }
            }
            let rich = match fields[9] {
                ">50K" => true,
                "<=50K" => false,
                other => {
                    return Err(bad(
                        n + 2,
                        format!("the income is {other:?}, not <=50K or >50K"),
                    ))
                }
            };
            people.push(Person {
                values: fields[..9].iter().map(|v| v.to_string()).collect(),
                rich,
            });
        }
        if people.len() != ROWS {
            return Err(Error::Data(format!(
                "adult.tsv.gz: expected {ROWS} people, found {}",
                people.len()
            )));
        }
        Ok(Census { people })
    }

    /// The values of attribute `column` with how many people have each, most common first
    /// (ties by value, so the order is the same everywhere).
    pub fn values_of(&self, column: usize) -> Vec<(String, usize)> {
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for p in &self.people {
            *counts.entry(&p.values[column]).or_default() += 1;
        }
        let mut all: Vec<(String, usize)> = counts
            .into_iter()
            .map(|(v, c)| (v.to_string(), c))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all
    }
}

/// The column of `attribute`, if the data set has it.
pub fn column(attribute: &str) -> Option<usize> {
    ATTRIBUTES.iter().position(|&a| a == attribute)
}

/// The features the census model reads from `person`, with attribute `column` taken as `value`
/// (an attacker tries each candidate in its place): every attribute (age and hours in decades),
/// and pairs of them, which give a model of a few hundred people room to memorise them.
pub fn features(person: &Person, column: usize, value: &str) -> BTreeSet<String> {
    let get = |i: usize| {
        if i == column {
            value
        } else {
            person.values[i].as_str()
        }
    };
    let decade = |i: usize| {
        let v: u32 = get(i).parse().unwrap_or(0);
        format!("{}0s", (v / 10).min(7))
    };
    let (age, hours) = (decade(0), decade(7));
    let mut f: BTreeSet<String> = ATTRIBUTES
        .iter()
        .enumerate()
        .map(|(i, name)| match i {
            0 => format!("age={age}"),
            7 => format!("hours={hours}"),
            _ => format!("{name}={}", get(i)),
        })
        .collect();
    for (a, b) in [(2, 4), (0, 7), (3, 6), (3, 0), (4, 6), (3, 4), (0, 2)] {
        let show = |i: usize| match i {
            0 => age.clone(),
            7 => hours.clone(),
            _ => get(i).to_string(),
        };
        f.insert(format!(
            "{}×{}={}×{}",
            ATTRIBUTES[a],
            ATTRIBUTES[b],
            show(a),
            show(b)
        ));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Person {
        Person {
            values: [
                "39",
                "State-gov",
                "Bachelors",
                "Never-married",
                "Adm-clerical",
                "White",
                "Male",
                "40",
                "United-States",
            ]
            .map(String::from)
            .to_vec(),
            rich: false,
        }
    }

    #[test]
    fn features_replace_the_attribute_tried() {
        let f = features(&person(), 3, "Divorced");
        assert!(f.contains("marital_status=Divorced"));
        assert!(!f.iter().any(|x| x.contains("Never-married")));
        assert!(f.contains("age=30s"));
        assert!(f.contains("marital_status×sex=Divorced×Male"));
        assert_eq!(f.len(), 16);
    }

    #[test]
    fn a_damaged_file_is_refused_by_line() {
        let header = format!("{}\tincome\n", ATTRIBUTES.join("\t"));
        let err = |text: &str| Census::from_tsv(text).unwrap_err().to_string();
        assert!(err("age\tsex\n").contains("line 1: the header"));
        assert!(err(&format!("{header}39\tx\n"))
            .contains("line 2: expected 10 tab-separated values, found 2"));
        let row =
            "39\tState-gov\tBachelors\tNever-married\tAdm-clerical\tWhite\tMale\t40\tUnited-States";
        assert!(err(&format!("{header}{row}\tlots\n")).contains("the income is \"lots\""));
        assert!(err(&format!(
            "{header}{}\t<=50K\n",
            row.replacen("39", "old", 1)
        ))
        .contains("age is \"old\""));
        assert!(err(&format!("{header}{row}\t<=50K\n")).contains("expected 2000 people, found 1"));
    }
}
