# Turns one documented example configuration (config/<role>.yaml) into man(7) text for u2u-relay.yaml(5), so that
# the page says exactly what the examples say (man/CMakeLists.txt runs it at build time; nothing is written by hand).
#   awk -v role=relay-ue -f config-to-man.awk config/relay-ue.yaml
# The file is read as the examples are written: paragraphs of comments at the start of a line, each followed by
# the keys it documents (a top-level key with its indented lines and comments), or by a commented-out section
# (a line "# key:" with nothing after the colon, and the "#   ..." lines after it). Each such entry becomes a subsection named after its top-level keys:
# the comment as text, the keys exactly as in the file as an example. A paragraph followed by a blank line and no
# key (the file's introduction) stays text. Anything else is an error, so that a new layout cannot vanish silently.

function roff_text(s) {  # one line of running text
  gsub(/\\/, "\\e", s)
  if (s ~ /^[.']/) s = "\\&" s
  return s
}

function roff_example(s) {  # one line of an example, kept as written (minus signs, not hyphens)
  gsub(/\\/, "\\e", s)
  gsub(/-/, "\\-", s)
  if (s ~ /^[.']/) s = "\\&" s
  return s
}

function flush(    i, keys, line, name) {
  if (n_yaml == 0) {
    if (n_prose > 0) {
      print ".PP"
      for (i = 1; i <= n_prose; i++) print roff_text(prose[i])
    }
  } else {
    keys = ""
    for (i = 1; i <= n_yaml; i++) {
      line = yaml[i]
      if (commented) sub(/^# ?/, "", line)
      if (line ~ /^[A-Za-z_][A-Za-z0-9_]*:/) {
        name = line
        sub(/:.*/, "", name)
        keys = keys (keys == "" ? "" : ", ") name
      }
    }
    if (keys == "") {
      printf "config-to-man.awk: %s:%d: lines without a top-level key\n", FILENAME, first_line > "/dev/stderr"
      failed = 1
      exit 1
    }
    print ".SS " roff_example(keys) (commented ? " (commented out in the example)" : "")
    for (i = 1; i <= n_prose; i++) print roff_text(prose[i])
    print ".PP"
    print ".EX"
    for (i = 1; i <= n_yaml; i++) print roff_example(yaml[i])
    print ".EE"
    entries++
  }
  n_prose = 0
  n_yaml = 0
  commented = 0
}

BEGIN {
  if (role == "") {
    print "config-to-man.awk: -v role=NAME is required" > "/dev/stderr"
    failed = 1
    exit 1
  }
  upper = toupper(role)
  print ".SH " roff_example(upper) " (" roff_example(role) ".yaml)"
}

{ if (n_prose == 0 && n_yaml == 0) first_line = FNR }

/^[ \t]*$/ { flush(); next }

/^#/ {
  if (n_yaml > 0 && !commented) flush()
  if (!commented && $0 ~ /^# [A-Za-z_][A-Za-z0-9_]*:[ \t]*$/) commented = 1
  if (commented) {
    yaml[++n_yaml] = $0
  } else {
    line = $0
    sub(/^# ?/, "", line)
    sub(/^[ \t]+/, "", line)
    prose[++n_prose] = line
  }
  next
}

{
  if (commented) flush()
  if (n_yaml == 0 && $0 ~ /^[ \t]/) {
    printf "config-to-man.awk: %s:%d: an indented line that belongs to no key\n", FILENAME, FNR > "/dev/stderr"
    failed = 1
    exit 1
  }
  yaml[++n_yaml] = $0
}

END {
  if (failed) exit 1
  flush()
  if (entries == 0) {
    printf "config-to-man.awk: %s: no key found\n", FILENAME > "/dev/stderr"
    exit 1
  }
}
