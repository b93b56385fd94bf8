#!/usr/bin/perl
use strict;
use warnings;
use CGI qw(:standard escapeHTML);

my $name = param('name') // 'world';
print header('text/html');
print "<p>Hello, ", escapeHTML($name), "</p>\n";
system('/usr/bin/logger', '-t', 'greeter', 'greeted someone');
my $date = `date -u`;
print "<p>", escapeHTML($date), "</p>\n";
