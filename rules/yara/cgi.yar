// Podwarden webshell rules: script CGI shells (Perl, Python, shell).
//
// CGI shells read the query string or form fields (QUERY_STRING, CGI.pm param(),
// cgi.FieldStorage) and hand them to system/exec/backticks/pipe-open, os.system,
// os.popen or subprocess.

rule cgi_perl_exec_of_request_input
{
    meta:
        description = "Perl CGI running a shell command built from request input"
        category = "cgi"
        score = 85
    strings:
        $exec_req = /\b(system|exec)\s*(\(\s*|\s)["'$@{][^;\n]{0,60}(\$ENV\s*\{\s*['"]?QUERY_STRING|->param\s*\(|\bparam\s*\(\s*['"]|\$FORM\s*\{|\$in\s*\{|\$input\s*\{)/
        $qx_req = /\bqx\s*[\{\(\[\/!|][^;\n]{0,60}(\$ENV\s*\{\s*['"]?QUERY_STRING|->param\s*\(|\bparam\s*\(\s*['"]|\$FORM\s*\{|\$in\s*\{)/
        $backtick_req = /`[^`\n]{0,60}(\$FORM\s*\{|\$in\s*\{|param\s*\(|\$ENV\s*\{\s*['"]?QUERY_STRING)/
        $eval_req = /\beval\s*[\(\{ ]\s*[^;]{0,40}(\$ENV\s*\{\s*['"]?QUERY_STRING|param\s*\(|\$FORM\s*\{)/
        $pipe_req = /\bopen\s*\(?\s*[^;]{0,40},\s*["']?[^;]{0,30}(\$FORM\s*\{|param\s*\()[^;]{0,30}\|\s*["']?\s*\)/
    condition:
        any of them
}

rule cgi_perl_command_shell
{
    meta:
        description = "Perl CGI taking a command parameter and running it"
        category = "cgi"
        score = 70
    strings:
        $cgi = /use\s+CGI\b|QUERY_STRING|CONTENT_LENGTH/
        $cmd_param = /(param|\$FORM|\$in)\s*[\(\{]\s*['"]?(cmd|command|exec|execute|c)['"]?\s*[\)\}]/
        $run = /\b(system|exec|qx)\s*[\(\{ ]|`\s*\$/
    condition:
        $cgi and $cmd_param and $run
}

rule cgi_python_exec_of_request_input
{
    meta:
        description = "Python CGI running os.system/os.popen/subprocess with form or query input"
        category = "cgi"
        score = 85
    strings:
        $exec_req = /(os\.system|os\.popen|subprocess\.(Popen|call|run|check_output|getoutput|getstatusoutput)|commands\.getoutput)\s*\(\s*[^\n]{0,80}(getvalue\s*\(|getfirst\s*\(|QUERY_STRING|FieldStorage|request\.(args|form|values))/
        $eval_req = /\b(eval|exec)\s*\(\s*[^\n]{0,40}(getvalue\s*\(|getfirst\s*\(|QUERY_STRING|request\.(args|form|values))/
    condition:
        any of them
}

rule cgi_python_small_shell
{
    meta:
        description = "small Python CGI script combining form input with command execution"
        category = "cgi"
        score = 70
    strings:
        $form = /cgi\.FieldStorage\s*\(|QUERY_STRING/
        $run = /os\.system\s*\(|os\.popen\s*\(|shell\s*=\s*True|commands\.getoutput|pty\.spawn/
    condition:
        filesize < 8KB and $form and $run
}

rule cgi_shell_script_eval_query
{
    meta:
        description = "shell CGI evaluating the query string"
        category = "cgi"
        score = 85
    strings:
        $shebang = /^#!\s*\/(usr\/)?bin\/(env\s+)?(ba|da|k|z)?sh/
        $eval_qs = /\beval\s+["']?[^\n]{0,40}\$\{?QUERY_STRING/
        $sh_qs = /(sh|bash)\s+-c\s+["']?[^\n]{0,20}\$\{?QUERY_STRING/
        $decoded_qs = /\$\(\s*echo\s+["']?\$\{?QUERY_STRING[^\n]{0,80}\)\s*$/
        $content = "Content-type" nocase
    condition:
        $shebang and $content and ($eval_qs or $sh_qs or $decoded_qs)
}
