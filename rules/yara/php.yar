// Podwarden webshell rules: PHP.
//
// Written from how PHP webshells work: request input (superglobals, php://input, headers)
// reaching a code-evaluation or command-execution sink, callbacks and variable functions
// chosen by the request, file writers and uploaders with request-controlled paths, and the
// recon + exec bundles of file-manager shells. Each rule carries `score` (0-100, how much the
// hit alone says "webshell"), `category` and `description`; the scanner combines hits and
// heuristics into one score per file.
//
// Syntax kept to what both yara-x and libyara 4.x accept.

rule php_eval_of_request_input
{
    meta:
        description = "code evaluation (eval/assert/create_function) of request input"
        category = "php"
        score = 95
    strings:
        $eval_req = /\b(eval|assert|create_function)\s*\(\s*[\w\s@(.'\"?>,\-\/:=|&]{0,100}\$_(GET|POST|REQUEST|COOKIE|FILES|SERVER\s*\[\s*['"]HTTP_)/ nocase
        $eval_input = /\b(eval|assert|create_function)\s*\(\s*[\w\s@(.'\"?>,\-\/:=|&]{0,60}(php:\/\/input|getallheaders\s*\(|apache_request_headers\s*\()/ nocase
        $eval_globals = /\b(eval|assert)\s*\(\s*[\w\s@(.'\"?>,\-\/:=|&]{0,60}\$GLOBALS\s*\[\s*['"]_(GET|POST|REQUEST|COOKIE)/ nocase
        $eval_session = /\b(eval|assert)\s*\(\s*[\w\s@(.'"]{0,40}\$_SESSION\s*\[/ nocase
        $eval_legacy = /\b(eval|assert)\s*\(\s*[\w\s@(.'\"?>,\-\/:=|&]{0,60}\$HTTP_(GET|POST|COOKIE)_VARS/ nocase
    condition:
        any of them
}

rule php_command_execution_of_request_input
{
    meta:
        description = "shell command execution with request input"
        category = "php"
        score = 90
    strings:
        $exec_req = /(\b|@)(system|shell_exec|passthru|popen|proc_open|pcntl_exec)\s*\(\s*[\w\s@(.'\"?>,\-\/:=|&]{0,80}\$_(GET|POST|REQUEST|COOKIE|SERVER\s*\[\s*['"]HTTP_)/ nocase
        $plain_exec_req = /[^\w>$:]exec\s*\(\s*[\w\s@(.'\"?>,\-\/:=|&]{0,80}\$_(GET|POST|REQUEST|COOKIE|SERVER\s*\[\s*['"]HTTP_)/ nocase
        $backtick_req = /(=|\(|echo|print|return|\.)\s*`[^`\n]{0,60}\$_(GET|POST|REQUEST|COOKIE)\s*\[[^`\n]{0,40}`\s*[;).,?]/
        $exec_input = /[^\w>$:](system|shell_exec|passthru|popen|proc_open|exec)\s*\(\s*[\w\s@(.'\"?>,\-\/:=|&]{0,60}(php:\/\/input|getallheaders\s*\()/ nocase
    condition:
        any of them
}

rule php_request_chosen_function
{
    meta:
        description = "function name taken from the request (variable function or callback)"
        category = "php"
        score = 90
    strings:
        $call_request_element = /\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[[^\]\n]{1,40}\]\s*\(/
        $call_braced_superglobal = /\$\{\s*['"]_(GET|POST|REQUEST|COOKIE)['"]\s*\}\s*\[[^\]\n]{1,40}\]\s*\(/ nocase
        $callback_first = /\b(call_user_func(_array)?|array_map|register_shutdown_function|register_tick_function|forward_static_call(_array)?|iterator_apply|set_error_handler|set_exception_handler|header_register_callback|spl_autoload_register)\s*\(\s*@?\$_(GET|POST|REQUEST|COOKIE|SERVER)/ nocase
        $callback_second = /\b(array_filter|array_walk|array_walk_recursive|usort|uasort|uksort|array_reduce|preg_replace_callback|ob_start)\s*\([^;,]{0,80},\s*@?\$_(GET|POST|REQUEST|COOKIE)/ nocase
        $reflection = /new\s+ReflectionFunction\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)/ nocase
    condition:
        any of them
}

rule php_eval_of_decoded_payload
{
    meta:
        description = "eval/assert of a decoded payload (base64, gzinflate, str_rot13 chain)"
        category = "php"
        score = 80
    strings:
        $eval_decode = /\b(eval|assert)\s*\(\s*@?\s*(base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|strrev|convert_uudecode|hex2bin|rawurldecode|urldecode|gzinflate|bzdecompress|openssl_decrypt|mcrypt_decrypt)\s*\(/ nocase
        $create_function_decode = /\bcreate_function\s*\([^;]{0,40},\s*@?(base64_decode|gzinflate|gzuncompress|str_rot13|strrev)\s*\(/ nocase
    condition:
        any of them
}

rule php_decoder_chain
{
    meta:
        description = "nested decoder chain (gzinflate/base64_decode/str_rot13/strrev)"
        category = "php"
        score = 30
    strings:
        $chain = /\b(gzinflate|gzuncompress|gzdecode|str_rot13|strrev|base64_decode|convert_uudecode|bzdecompress)\s*\(\s*(gzinflate|gzuncompress|gzdecode|str_rot13|strrev|base64_decode|convert_uudecode|bzdecompress)\s*\(/ nocase
    condition:
        $chain
}

rule php_preg_replace_eval_modifier
{
    meta:
        description = "preg_replace with the /e (evaluate) modifier"
        category = "php"
        score = 45
    strings:
        $slash = /preg_replace\s*\(\s*['"]\/[^'"\n]{0,120}\/[imsxuADSUXJ]{0,6}e[imsxuADSUXJ]{0,6}['"]\s*,/
        $other = /preg_replace\s*\(\s*['"][#@~|!%][^'"\n]{0,120}[#@~|!%][imsxuADSUXJ]{0,6}e[imsxuADSUXJ]{0,6}['"]\s*,/
        $req = /\$_(GET|POST|REQUEST|COOKIE)\s*\[/
    condition:
        ($slash or $other) and not $req
}

rule php_preg_replace_eval_request
{
    meta:
        description = "preg_replace /e modifier in a file reading request input"
        category = "php"
        score = 80
    strings:
        $slash = /preg_replace\s*\(\s*['"]\/[^'"\n]{0,120}\/[imsxuADSUXJ]{0,6}e[imsxuADSUXJ]{0,6}['"]\s*,/
        $other = /preg_replace\s*\(\s*['"][#@~|!%][^'"\n]{0,120}[#@~|!%][imsxuADSUXJ]{0,6}e[imsxuADSUXJ]{0,6}['"]\s*,/
        $req = /\$_(GET|POST|REQUEST|COOKIE)\s*\[/
    condition:
        ($slash or $other) and $req
}

rule php_include_of_request_input
{
    meta:
        description = "include/require of a request-controlled path or of a data:// or php://input stream"
        category = "php"
        score = 65
    strings:
        $include_req = /\b(include|require)(_once)?\s*\(?\s*@?\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]\n]{1,40}\]\s*\)?\s*;/ nocase
        $include_upload = /\b(include|require)(_once)?\s*\(?\s*@?\s*\$_FILES\s*\[[^\]\n]{1,40}\]\s*\[\s*['"]tmp_name/ nocase
        $include_input = /\b(include|require)(_once)?\s*\(?\s*['"]php:\/\/input/ nocase
        $include_data_req = /\b(include|require)(_once)?\s*\(?\s*['"](data:|php:\/\/filter)[^'"\n]{0,80}['"]\s*\.\s*\$_(GET|POST|REQUEST|COOKIE)/ nocase
    condition:
        any of them
}

rule php_request_controlled_file_write
{
    meta:
        description = "writes a file whose name and content come from the request (dropper)"
        category = "php"
        score = 85
    strings:
        $put = /\bfile_put_contents\s*\(\s*[\w\s@(.'\"?>,\-\/:=|&]{0,60}\$_(GET|POST|REQUEST|COOKIE)[^;]{0,80},\s*[^;]{0,60}\$_(GET|POST|REQUEST|COOKIE)/ nocase
        $fopen = /\bfwrite\s*\(\s*@?fopen\s*\(\s*[\w\s@(.'\"?>,\-\/:=|&]{0,40}\$_(GET|POST|REQUEST|COOKIE)[^;]{0,80}\$_(GET|POST|REQUEST|COOKIE)/ nocase
    condition:
        any of them
}

rule php_minimal_uploader
{
    meta:
        description = "small script saving an uploaded file under the name or path chosen by the client"
        category = "php"
        score = 70
    strings:
        $move = /\b(move_uploaded_file|copy)\s*\(\s*\$_FILES\s*\[[^\]]{1,40}\]\s*\[\s*['"]tmp_name['"]\s*\]\s*,\s*[^;]{0,60}\$_(FILES\s*\[[^\]]{1,40}\]\s*\[\s*['"]name|GET|POST|REQUEST)/ nocase
    condition:
        $move and filesize < 6KB
}

rule php_small_script_with_sink_and_input
{
    meta:
        description = "tiny PHP script combining request input with an eval/exec sink"
        category = "php"
        score = 40
    strings:
        $tag = /<\?(php|=|\s)/ nocase
        $sink = /(\b|@)(eval|assert|create_function|system|shell_exec|passthru|popen|proc_open|pcntl_exec|call_user_func|call_user_func_array)\s*\(/ nocase
        $req1 = /\$_(GET|POST|REQUEST|COOKIE)\b/
        $req2 = "php://input" nocase
        $req3 = /\$_SERVER\s*\[\s*['"]HTTP_/
    condition:
        filesize < 3KB and $tag and $sink and any of ($req*)
}

rule php_dynamic_call_small_script
{
    meta:
        description = "tiny PHP script calling a variable as a function and reading request input"
        category = "php"
        score = 55
    strings:
        $tag = /<\?(php|=|\s)/ nocase
        $var_call = /[^>:\w]\$\{?[A-Za-z_\x7f-\xff][\w\x7f-\xff]{0,30}\}?\s*\(\s*\$/
        $req1 = /\$_(GET|POST|REQUEST|COOKIE)\b/
        $req2 = "php://input" nocase
    condition:
        filesize < 2KB and $tag and $var_call and any of ($req*)
}

rule php_reversed_or_split_function_names
{
    meta:
        description = "dangerous function name written reversed or split into concatenated pieces"
        category = "php"
        score = 75
    strings:
        $reversed = /['"](edoced_46esab|etalfnizg|sserpmocnuzg|31tor_rts|tressa|lave|metsys|cexe_llehs|urhtssap|nepop|nepo_corp|noitcnuf_etaerc|stnetnoc_tup_elif)['"]/ nocase
        $split_b64 = /['"]base['"]\s*\.\s*['"]64_decode['"]/ nocase
        $split_b64b = /['"]ba['"]\s*\.\s*['"]se64/ nocase
        $split_assert = /['"]a['"]\s*\.\s*['"]s['"]\s*\.\s*['"]s['"]\s*\.\s*['"]e['"]/ nocase
        $split_assert2 = /['"]as['"]\s*\.\s*['"]se['"]\s*\.\s*['"]rt['"]/ nocase
        $split_assert3 = /['"]ass['"]\s*\.\s*['"]ert['"]/ nocase
        $split_eval = /['"]ev['"]\s*\.\s*['"]al['"]/ nocase
        $split_create = /['"]create_['"]\s*\.\s*['"]function['"]/ nocase
        $split_shell = /['"]shell_['"]\s*\.\s*['"]exec['"]/ nocase
        $split_system = /['"]sys['"]\s*\.\s*['"]tem['"]/ nocase
        $split_gz = /['"]gz['"]\s*\.\s*['"]inflate['"]/ nocase
    condition:
        any of them
}

rule php_superglobal_indirection
{
    meta:
        description = "superglobal reached indirectly (${'_POST'}, hex-escaped names, $GLOBALS lookups)"
        category = "php"
        score = 35
    strings:
        $braced = /\$\{\s*['"]_(GET|POST|REQUEST|COOKIE)['"]\s*\}/ nocase
        $hex = /['"]\\x5f\\x(47|50|52|43)\\x/ nocase
        $braced_hex = /\$\{\s*['"]\\x5f/ nocase
        $chr = /chr\s*\(\s*95\s*\)\s*\.\s*chr\s*\(\s*(71|80|82|67)\s*\)/
    condition:
        any of them
}

rule php_file_manager_shell
{
    meta:
        description = "file-manager shell: several exec functions, host recon and request-driven actions"
        category = "php"
        score = 75
    strings:
        $x1 = /[^\w>$:]shell_exec\s*\(/ nocase
        $x2 = /[^\w>$:]passthru\s*\(/ nocase
        $x3 = /[^\w>$:]system\s*\(/ nocase
        $x4 = /[^\w>$:]popen\s*\(/ nocase
        $x5 = /[^\w>$:]proc_open\s*\(/ nocase
        $x6 = /[^\w>$:]exec\s*\(/ nocase
        $x7 = /[^\w>$:]pcntl_exec\s*\(/ nocase
        $recon1 = "php_uname" nocase
        $recon2 = "posix_getpwuid" nocase
        $recon3 = "disable_functions" nocase
        $recon4 = "safe_mode" nocase
        $recon5 = "/etc/passwd"
        $recon6 = "uname -a"
        $recon7 = "getmyuid" nocase
        $recon8 = "disk_free_space" nocase
        $recon9 = "open_basedir" nocase
        $recon10 = "posix_getgrgid" nocase
        $recon11 = "whoami"
        $recon12 = "netstat -"
        $recon13 = "/bin/sh"
        $recon14 = "cmd.exe" nocase
        $req = /\$_(GET|POST|REQUEST|COOKIE)\s*\[/
    condition:
        // 4 recon strings: the same test as the former `5 of ($r*) and $req`, whose set
        // `$r*` also counted `$req`.
        3 of ($x*) and 4 of ($recon*) and $req
}

rule php_network_backdoor
{
    meta:
        description = "PHP back-connect or bind shell (socket wired to a shell)"
        category = "php"
        score = 75
    strings:
        $sock1 = /\b(fsockopen|socket_create|stream_socket_client|stream_socket_server|socket_bind)\s*\(/ nocase
        $shell1 = "/bin/sh"
        $shell2 = "/bin/bash"
        $shell3 = "cmd.exe" nocase
        $spawn = /[^\w>$:](proc_open|popen|shell_exec|system|passthru|exec)\s*\(/ nocase
        $req = /\$_(GET|POST|REQUEST|COOKIE)\s*\[/
    condition:
        $sock1 and any of ($shell*) and $spawn and $req
}

rule php_hidden_in_non_php_file
{
    meta:
        description = "PHP code with an eval/exec sink inside an image or other non-script container"
        category = "php"
        score = 70
    strings:
        $tag = "<?php" nocase
        $sink = /(\b|@)(eval|assert|system|shell_exec|passthru|create_function)\s*\(/ nocase
    condition:
        (uint32be(0) == 0x89504E47 or uint16be(0) == 0xFFD8 or uint32be(0) == 0x47494638 or uint32be(0) == 0x00000100)
        and $tag and $sink
}

rule php_callback_named_sink
{
    meta:
        description = "eval/exec function passed by name as a callback (array_filter($x, 'assert'))"
        category = "php"
        score = 75
    strings:
        $named = /\b(array_map|array_filter|array_walk|array_walk_recursive|call_user_func(_array)?|usort|uasort|uksort|register_shutdown_function|register_tick_function|iterator_apply|array_reduce|preg_replace_callback|ob_start|forward_static_call(_array)?)\s*\([^;]{0,100}['"](assert|eval|system|shell_exec|passthru|exec|popen|proc_open|create_function|pcntl_exec)['"]\s*[,)]/ nocase
    condition:
        $named
}

rule php_extract_request_then_call
{
    meta:
        description = "request variables extracted into scope and a variable called as a function"
        category = "php"
        score = 70
    strings:
        // One regexp per order (call after the extraction, or before it, e.g. in a helper),
        // each anchored on `extract`/`parse_str`: a variable call on its own (`$f($x)`) has no
        // literal but `$` and `(`, and yara-x would verify it at every variable of every file.
        // The gap is `[^\x00]`, not any byte, so that yara-x keeps one regexp instead of
        // chaining the call part as a pattern of its own; regexp verification reaches about
        // 4 KB either side of the atom. `\$_+` (not `\$_`) keeps `$_POST` & co. out of the
        // atoms yara-x picks: it verifies forward first, and from an atom at `$_POST` that
        // would run the 4 KB gap at every `$_POST` of every file.
        $extract_then_call = /\b(extract|parse_str)\s*\(\s*\$_+(GET|POST|REQUEST|COOKIE|SERVER)[^\x00]{0,4000}[^>:\w$\\]\$\{?[A-Za-z_]\w{0,30}\}?\s*\(\s*@?\$/ nocase
        $call_then_extract = /[^>:\w$\\]\$\{?[A-Za-z_]\w{0,30}\}?\s*\(\s*@?\$[^\x00]{0,4000}\b(extract|parse_str)\s*\(\s*\$_+(GET|POST|REQUEST|COOKIE|SERVER)/ nocase
    condition:
        filesize < 16KB and any of them
}

rule php_xor_built_names
{
    meta:
        description = "names built by XOR-ing short strings or concatenating into ${...} (non-alphanumeric shells)"
        category = "php"
        score = 70
    strings:
        // `\^(['"]|\s\s*['"])` is `\^\s*['"]` written so that yara-x anchors on the two
        // bytes after the XOR operator (`^"`, `^'`, `^ `, ...), which are rare, instead of
        // on a lone quote or `$`.
        $xor = /\(\s*\$_{1,4}\s*\^(['"]|\s\s*['"])[^'"\n]{1,6}['"]\s*\)/
        $xor_literals = /['"][^'"\n]{1,6}['"]\s*\^(['"]|\s\s*['"])[^'"\n]{1,6}['"]/
        $braced_concat = /\$\{\s*['"][^'"\n]{0,6}['"]\s*\.\s*\$_{1,4}\s*\}/
    condition:
        #xor >= 2 or #xor_literals >= 3 or ($braced_concat and (#xor >= 1 or #xor_literals >= 1))
}

rule php_exec_fallback_chain
{
    meta:
        description = "tries exec functions one after another (function_exists chain) and reads request input"
        category = "php"
        score = 70
    strings:
        $f1 = /(function_exists|is_callable)\s*\(\s*['"]system['"]/ nocase
        $f2 = /(function_exists|is_callable)\s*\(\s*['"]passthru['"]/ nocase
        $f3 = /(function_exists|is_callable)\s*\(\s*['"]shell_exec['"]/ nocase
        $f4 = /(function_exists|is_callable)\s*\(\s*['"]exec['"]/ nocase
        $f5 = /(function_exists|is_callable)\s*\(\s*['"]popen['"]/ nocase
        $f6 = /(function_exists|is_callable)\s*\(\s*['"]proc_open['"]/ nocase
        $f7 = /(function_exists|is_callable)\s*\(\s*['"]pcntl_exec['"]/ nocase
        $req = /\$_(GET|POST|REQUEST|COOKIE)\s*\[/
    condition:
        3 of ($f*) and $req
}

rule php_decrypt_request_then_eval
{
    meta:
        description = "small script decrypting or XOR-decoding the request body and evaluating it"
        category = "php"
        score = 75
    strings:
        $input1 = "php://input" nocase
        $input2 = /\$_(POST|REQUEST|COOKIE)\s*\[/
        $decrypt1 = /\b(openssl_decrypt|mcrypt_decrypt)\s*\(/ nocase
        // XOR loops: `\^(\$|\s\s*\$)` is `\^\s*\$` written so that yara-x anchors on the
        // rare two bytes after the XOR operator instead of on `$` or `[`.
        $decrypt2 = /\$\w+\s*\[\s*\$\w+\s*\]\s*=\s*\$\w+\s*\[\s*\$\w+\s*\]\s*\^(\$|\s\s*\$)\w+/
        $decrypt3 = /\$\w+\s*\[\s*\$\w+\s*\]\s*\^(\$|\s\s*\$)\w+\s*\[\s*\$\w+\s*\+\s*1\s*&\s*15\s*\]/
        $eval = /(\b|@)(eval|assert)\s*\(/ nocase
    condition:
        filesize < 16KB and any of ($input*) and any of ($decrypt*) and $eval
}

rule php_eval_in_invoke
{
    meta:
        description = "class whose __invoke evaluates its argument (callable wrapper around eval)"
        category = "php"
        score = 80
    strings:
        $invoke = /function\s+__invoke\s*\(\s*\$(\w+)\s*\)\s*\{\s*@?(eval|assert)\s*\(/ nocase
    condition:
        $invoke
}

rule php_mb_ereg_eval
{
    meta:
        description = "mb_ereg_replace with the e (evaluate) option"
        category = "php"
        score = 75
    strings:
        $mb = /\bmb_eregi?_replace\s*\([^;]{0,160},\s*['"][a-z]{0,5}e[a-z]{0,5}['"]\s*\)/ nocase
    condition:
        $mb
}
