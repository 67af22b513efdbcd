
use builtin;
use str;

set edit:completion:arg-completer[keyguard] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'keyguard'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'keyguard'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand scan 'Scan files and directories for secrets'
            cand rules 'List the rule catalogue (what keyguard finds)'
            cand completions 'Print a shell completion script to standard output'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;scan'= {
            cand --max-file-size 'Skip files larger than this (e.g. 10MiB) [default: 64MiB, or [scan] max_file_size]'
            cand --format 'Report format'
            cand -o 'Write the report to FILE (created 0600, replaced atomically) instead of standard output'
            cand --output 'Write the report to FILE (created 0600, replaced atomically) instead of standard output'
            cand --baseline 'Hide findings whose rule and secret appear in this earlier JSON report'
            cand --config 'Read this keyguard.toml instead of looking in the scanned directory and here'
            cand --color 'When to use colour (NO_COLOR is honoured in auto mode)'
            cand -j 'Number of threads [default: number of CPUs]'
            cand --threads 'Number of threads [default: number of CPUs]'
            cand --follow 'Follow symbolic links (loops are detected and skipped)'
            cand --no-ignore 'Don''t honour .gitignore, .ignore and .keyguardignore'
            cand --all-rules 'Also run optional rules (identifiers such as bucket names and ARNs; see `keyguard rules`)'
            cand --show-secrets 'Print secrets in full instead of redacted (keep such reports private)'
            cand -q 'Print no summary or warnings on standard error'
            cand --quiet 'Print no summary or warnings on standard error'
            cand --exit-zero 'Exit 0 even when secrets are found (errors still exit 2)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;rules'= {
            cand --format 'Output format'
            cand --provider 'Only rules of this provider (e.g. openai)'
            cand --config 'Also load extra rules from this keyguard.toml'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'keyguard;help'= {
            cand scan 'Scan files and directories for secrets'
            cand rules 'List the rule catalogue (what keyguard finds)'
            cand completions 'Print a shell completion script to standard output'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'keyguard;help;scan'= {
        }
        &'keyguard;help;rules'= {
        }
        &'keyguard;help;completions'= {
        }
        &'keyguard;help;help'= {
        }
    ]
    $completions[$command]
}
